"""The programme-office blueprint, shared by the view modules of this package."""
from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/office")
