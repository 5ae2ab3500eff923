"""Who is calling: JWT or named API token (Authorization: JWT|Bearer, or ?jwt=), else the session cookie with
its CSRF header for unsafe methods. Also POST /api/token-auth/."""
import functools

from flask import g, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError as CSRFValidationError

from webapp.api.blueprint import bp, route
from webapp.api.errors import NOT_AUTHENTICATED, api_error_response
from webapp.api.helpers import caller, json_response, request_data
from webapp.services import ratelimit, tile_links, tokens
from webapp.services.errors import ValidationError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")
BAD_CREDENTIALS = "Unable to log in with provided credentials."


def _sent_credential():
    """The token sent with the request (Authorization: JWT/Bearer <token>, or ?jwt=), or None."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() in ("jwt", "bearer") and value.strip():
        return value.strip()
    return request.args.get("jwt") or None


def _csrf_failure():
    """None when the request's CSRF header is valid, else why not."""
    token = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except CSRFValidationError as error:
        return str(error)
    return None


@bp.before_request
def identify_caller():
    """Set g.api_user from a token, or from the session (checking CSRF on unsafe methods); None if anonymous."""
    g.api_user = None
    if request.environ.get(tile_links.ENVIRON_KEY) is not None:
        return None  # a tile URL whose signature was checked (webapp.api.tile_fast_path): no caller needed
    credential = _sent_credential()
    if credential is not None:
        user = tokens.user_from_credential(credential)
        if user is None:
            return api_error_response(403, detail="Invalid or expired token.")
        g.api_user = user
        return None
    if current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            failure = _csrf_failure()
            if failure:
                return api_error_response(403, detail=f"CSRF Failed: {failure}")
        g.api_user = current_user._get_current_object()
    return None


def login_required(view):
    """Refuse anonymous callers with 403 (as WebODM)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if caller() is None:
            return api_error_response(403, detail=NOT_AUTHENTICATED)
        return view(*args, **kwargs)
    return wrapper


def admin_required(view):
    """Refuse anyone but administrators with 403."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        user = caller()
        if user is None:
            return api_error_response(403, detail=NOT_AUTHENTICATED)
        if not user.is_admin:
            return api_error_response(403, detail="You do not have permission to perform this action.")
        return view(*args, **kwargs)
    return wrapper


@route("/token-auth/", methods=["POST"])
def token_auth():
    """Exchange a username and password for a JWT (rate-limited per account and per address)."""
    data = request_data()
    username, password = data.get("username"), data.get("password")
    missing = {field: ["This field is required."] for field in ("username", "password") if not data.get(field)}
    if missing:
        raise ValidationError(field_errors=missing)
    user = ratelimit.authenticate_limited(str(username), str(password), request.remote_addr)
    if user is None:
        raise ValidationError(field_errors={"non_field_errors": [BAD_CREDENTIALS]})
    return json_response({"token": tokens.issue_jwt(user)})
