"""Entry point for gunicorn: `gunicorn wsgi:app`."""
from namalms import create_app
from namalms.startup import recover

app = create_app()
recover(app)
