"""The job runtime: an app context per job, and the database session released at its end."""
import functools
import logging

from flask import current_app, has_app_context

from webapp import create_app
from webapp.extensions import db

log = logging.getLogger(__name__)
_worker_app = None


def _app():
    """The app of the `flask worker` command when there is one, else one app made once per process."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        _worker_app = create_app()
    return _worker_app


def app_job(func):
    """Decorator for a job function: run it in an app context and always release its database session."""
    @functools.wraps(func)
    def run_job(*args, **kwargs):
        with _app().app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()
    return run_job
