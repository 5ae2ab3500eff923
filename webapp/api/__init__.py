"""The JSON REST API of docs/API.md, under /api."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
