"""The reference of the page benchmark: the smallest Flask app, one route answering a short text.

`bench_pages` serves it with exactly the gunicorn settings of the real app, so every page figure
can be read as a share of what Flask and gunicorn cost on this machine (`<name>_ratio`).
"""
from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    """A few bytes, no database, no session, no template: the floor of the stack."""
    return "Hallo"
