"""gunicorn settings for namalms: ``gunicorn -c python:namalms.gunicorn_conf wsgi:app``.

Threaded workers (``gthread``): a worker process keeps answering gunicorn's heartbeat while one
of its threads streams a long CSV/XLSX export, so ``timeout`` only ever kills a worker that is
really stuck, never a slow download. A hanging database no longer holds workers either: the app
bounds connects and statements (see ``DATABASE_*_TIMEOUT``) and answers 503.

Everything can be set from the environment, so the same file serves every app server:

=======================  ======================================================  ==============
variable                 meaning                                                 default
=======================  ======================================================  ==============
NAMALMS_BIND             address to listen on (the reverse proxy connects here)  127.0.0.1:8000
WEB_CONCURRENCY          worker processes (about one per CPU core)               2
NAMALMS_THREADS          threads per worker                                      4
NAMALMS_WORKER_TIMEOUT   seconds a silent worker may live                        60
FORWARDED_ALLOW_IPS      proxies whose X-Forwarded-* headers gunicorn trusts     127.0.0.1
=======================  ======================================================  ==============

Request logs come from the app itself (one JSON line per request with its id), so gunicorn's
access log is off; gunicorn's own messages are JSON lines too.
"""
import os

bind = os.environ.get("NAMALMS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("NAMALMS_THREADS", "4"))
timeout = int(os.environ.get("NAMALMS_WORKER_TIMEOUT", "60"))
graceful_timeout = 30  # a restart lets running requests (and exports) finish for this long
keepalive = 5  # behind a reverse proxy that keeps connections open
# gunicorn's own default, written out: a longer request line (path and query string) is refused
# with 400 before it reaches the app. The bad-input tests send query strings up to this size.
limit_request_line = 4094
# Replace workers now and then, so a slow leak can never grow without bound.
max_requests = 5000
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = None
errorlog = "-"
loglevel = os.environ.get("NAMALMS_GUNICORN_LOGLEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "namalms.observability.JsonFormatter"}},
    "filters": {"request": {"()": "namalms.observability.RequestContextFilter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request"],
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}
