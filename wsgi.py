"""Entry point for gunicorn: `gunicorn wsgi:app`."""
import gc

from namalms import create_app
from namalms.startup import recover

app = create_app()
recover(app)
# Everything made while starting (the app, templates, routes, modules) lives as long as the
# process: take it out of the garbage collector's view, so its full collections stay short and
# pages do not stall every few hundred requests (and forked workers keep sharing that memory).
gc.freeze()
