"""The app as the tests run it: created on an emptied Redis, its tables made, its context pushed."""
from contextlib import contextmanager

import redis
from flask import g, request_started

from webapp import create_app
from webapp.config import TestConfig
from webapp.extensions import db


def _fresh_globals(sender, **extra):
    """Start each request with an empty flask.g, as a real server does.

    The test app keeps one app context pushed, which every test request reuses, so what Flask-Login and
    Flask-WTF cache in g (the user, the CSRF token) would leak from one client's request into another client's.
    """
    for name in list(g):
        g.pop(name)


@contextmanager
def running_app(instance_dir, redis_url, **settings):
    """A TestConfig app (settings override it) with its tables created, inside its app context; disposed after."""
    redis.Redis.from_url(redis_url).flushdb()
    application = create_app(TestConfig(instance_dir, redis_url=redis_url, **settings))
    request_started.connect(_fresh_globals, application)
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()
