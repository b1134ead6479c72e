"""Entry point for gunicorn: `gunicorn wsgi:app`."""
import gc
import logging

from namalms import create_app
from namalms.startup import recover

# Every request writes a log line. Our formats (JSON, text) never show the source file, thread or
# process of a record, so the logging module need not look them up for each one (the
# "Optimization" section of Python's logging HOWTO): about 30 µs less on every request.
logging._srcfile = None
logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
logging.logAsyncioTasks = False  # looked up per record from Python 3.12 on

app = create_app()
recover(app)
# Everything made while starting (the app, templates, routes, modules) lives as long as the
# process: take it out of the garbage collector's view, so its full collections stay short and
# pages do not stall every few hundred requests (and forked workers keep sharing that memory).
gc.freeze()
