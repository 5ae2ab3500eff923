"""API credentials: short-lived JWTs from token-auth, and named long-lived API tokens a user creates and revokes."""
import functools
import hashlib
import secrets
import time
from datetime import timedelta

import jwt
from flask import current_app
from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.models.base import utcnow
from webapp.services.errors import NotFound, ValidationError

JWT_ALGORITHM = "HS256"
API_TOKEN_PREFIX = "aerie_"  # tells a named API token from a JWT at a glance
PREFIX_SHOWN = 12  # characters of a token kept in clear so that users can tell their tokens apart
LAST_USED_PRECISION = timedelta(minutes=1)  # write last_used_at at most this often


def _jwt_key(secret_key):
    """The JWT signing key: derived from the app's SECRET_KEY, so that it is always 32 bytes and used for JWTs only."""
    return hashlib.sha256(b"aerie-jwt:" + secret_key.encode()).digest()


def issue_jwt(user):
    """A signed JWT for user, valid JWT_EXPIRATION_SECONDS."""
    now = utcnow()
    payload = {"user_id": user.id, "username": user.username, "iat": now,
               "exp": now + timedelta(seconds=current_app.config["JWT_EXPIRATION_SECONDS"])}
    return jwt.encode(payload, _jwt_key(current_app.config["SECRET_KEY"]), algorithm=JWT_ALGORITHM)


def user_from_jwt(token):
    """The active user a valid, unexpired JWT names, else None."""
    claims = _jwt_claims(token, current_app.config["SECRET_KEY"])
    if claims is None:
        return None
    user_id, expiry = claims
    if time.time() >= expiry:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


@functools.lru_cache(maxsize=1024)
def _jwt_claims(token, secret_key):
    """(user id, expiry as a Unix time) of a JWT whose signature is valid, else None. Kept per process: a client
    sends the same JWT with every request, and checking its signature again each time is a tenth of a small
    request's work. The expiry is checked by the caller at every use; the key is part of the cache's key."""
    try:
        payload = jwt.decode(token, _jwt_key(secret_key), algorithms=[JWT_ALGORITHM],
                             options={"require": ["exp", "user_id"]})
    except jwt.InvalidTokenError:
        return None
    if not isinstance(payload["user_id"], int) or isinstance(payload["user_id"], bool):
        return None
    return payload["user_id"], payload["exp"]


def _hash(secret):
    """The stored form of an API token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(user, name):
    """Create a named API token for user; returns (ApiToken, secret). The secret is shown once, never stored."""
    name = str(name or "").strip()
    if not name:
        raise ValidationError(field_errors={"name": ["This field is required."]})
    if len(name) > 100:
        raise ValidationError(field_errors={"name": ["Use at most 100 characters."]})
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_hash(secret), prefix=secret[:PREFIX_SHOWN])
    db.session.add(token)
    db.session.commit()
    return token, secret


def list_api_tokens(user):
    """The user's API tokens, oldest first."""
    return ApiToken.query.filter_by(user_id=user.id).order_by(ApiToken.created_at, ApiToken.id).all()


def revoke_api_token(user, token_id):
    """Delete one of the user's API tokens (NotFound if it is not theirs)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    db.session.delete(token)
    db.session.commit()


def user_from_api_token(secret):
    """The active owner of a named API token, else None; notes when the token was last used."""
    token = ApiToken.query.options(joinedload(ApiToken.user)).filter_by(token_hash=_hash(secret)).first()
    if token is None or not token.user.active:
        return None
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite gives naive datetimes back
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > LAST_USED_PRECISION:
        token.last_used_at = now
        db.session.commit()
    return token.user


def user_from_credential(credential):
    """The user of a credential sent with a request: a named API token or a JWT; None when invalid."""
    if credential.startswith(API_TOKEN_PREFIX):
        return user_from_api_token(credential)
    return user_from_jwt(credential)
