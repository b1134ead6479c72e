"""Entry point for gunicorn: `gunicorn wsgi:app`."""
from namalms import create_app

app = create_app()
