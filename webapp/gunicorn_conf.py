"""gunicorn's settings for Aerie's web server, wherever it is started: `gunicorn -c python:webapp.gunicorn_conf`.

Command-line flags (bind, workers, threads, timeout) add to these.
"""
from webapp.connections import remember_server_request

# Idle kept-alive connections stay open 75 s: a client polling a task every few seconds keeps its connection,
# and a reverse proxy in front (which keeps its upstream connections about a minute) never sends a request on
# one gunicorn is closing. gunicorn's default, 2 s, races a client polling every 2 s.
keepalive = 75


def pre_request(worker, req):
    """Let the app ask gunicorn to close this request's connection (see webapp/connections.py)."""
    remember_server_request(req)
