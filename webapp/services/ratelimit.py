"""A small Redis-backed limiter of failed logins, per account and per address (fixed windows).

Used by the API's token-auth; the login form can call `authenticate_limited` the same way.
Settings (webapp.config): LOGIN_MAX_FAILURES_PER_ACCOUNT, LOGIN_MAX_FAILURES_PER_ADDRESS,
LOGIN_FAILURE_WINDOW_SECONDS.
"""
import logging

import redis
from flask import current_app

from webapp import queue
from webapp.services import accounts
from webapp.services.errors import ServiceError

log = logging.getLogger(__name__)


class TooManyAttempts(ServiceError):
    """Too many failed logins for this account or address; retry_after is in seconds."""

    def __init__(self, retry_after):
        super().__init__(f"Too many failed login attempts. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


def _settings():
    """(max failures per account, max failures per address, window in seconds) from the app config."""
    config = current_app.config
    return (config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
            config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _keys(username, address):
    """The Redis counters of an account and of an address."""
    account = (username or "").strip().lower()
    return f"aerie:login-failures:account:{account}", f"aerie:login-failures:address:{address or 'unknown'}"


def check_allowed(username, address):
    """Raise TooManyAttempts when the account or the address used up its failures in the current window."""
    per_account, per_address, _ = _settings()
    account_key, address_key = _keys(username, address)
    try:
        conn = queue.redis_connection()
        for key, limit in ((account_key, per_account), (address_key, per_address)):
            failures = int(conn.get(key) or 0)
            if failures >= limit:
                raise TooManyAttempts(max(int(conn.ttl(key)), 1))
    except redis.RedisError as error:  # fail open: a Redis outage must not lock everyone out
        log.warning("login limiter unavailable: %s", error)


def record_failure(username, address):
    """Count one failed login against the account and the address."""
    _, _, window = _settings()
    try:
        pipe = queue.redis_connection().pipeline()
        for key in _keys(username, address):
            pipe.set(key, 0, ex=window, nx=True)  # the window starts at the first failure (Redis 6 has no EXPIRE NX)
            pipe.incr(key)  # INCR keeps the TTL
        pipe.execute()
    except redis.RedisError as error:
        log.warning("login limiter unavailable: %s", error)


def clear_account(username):
    """Forget an account's failures after a successful login (the address keeps its count)."""
    try:
        queue.redis_connection().delete(_keys(username, None)[0])
    except redis.RedisError as error:
        log.warning("login limiter unavailable: %s", error)


def authenticate_limited(username, password, address):
    """accounts.authenticate behind the limiter: the user, None for bad credentials, or TooManyAttempts."""
    check_allowed(username, address)
    user = accounts.authenticate(username, password)
    if user is None:
        record_failure(username, address)
    else:
        clear_account(username)
    return user
