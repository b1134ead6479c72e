"""The trainer area blueprint, shared by the view modules of this package."""
from flask import Blueprint

bp = Blueprint("trainer", __name__, url_prefix="/trainer")
