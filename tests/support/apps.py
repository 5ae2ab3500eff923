"""The app as the tests run it: created on an emptied Redis, its tables made, its context pushed."""
from contextlib import contextmanager

import redis
from flask import g, request_started
from flask.testing import FlaskClient

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


class ClosingClient(FlaskClient):
    """A test client whose responses are closed when the app is disposed, as a WSGI server closes each one.

    A file download holds its file open until its response is closed, and werkzeug spools a request body over
    500 KB to a temporary file that it never closes: left to the garbage collector, they would raise a
    ResourceWarning (an error under `filterwarnings = error`) in whichever test happens to collect them.
    """

    def open(self, *args, **kwargs):
        """Make the request and remember its response, to close it later."""
        response = super().open(*args, **kwargs)
        self.application.extensions.setdefault("test_responses", []).append(response)
        return response


def _close_responses(application):
    """Close every response that the app's test clients received, and the body of its request."""
    for response in application.extensions.pop("test_responses", []):
        response.close()
        response.request.environ["wsgi.input"].close()


@contextmanager
def running_app(instance_dir, redis_url, **settings):
    """A TestConfig app (settings override it) with its tables created, inside its app context; disposed after."""
    redis.Redis.from_url(redis_url).flushdb()
    application = create_app(TestConfig(instance_dir, redis_url=redis_url, **settings))
    application.test_client_class = ClosingClient
    request_started.connect(_fresh_globals, application)
    with application.app_context():
        db.create_all()
        yield application
        _close_responses(application)
        db.session.remove()
        db.engine.dispose()
