"""A WSGI app that answers every request with 20 KB and does nothing else.

bench/tiles.py serves it with gunicorn as it serves Aerie: its requests per second are the ceiling that the
server and the benchmark's HTTP client allow, before any work of ours.
"""
BODY = b"\0" * 20_000  # about a cached PNG tile


def app(environ, start_response):
    """Answer any request with BODY."""
    start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(BODY)))])
    return [BODY]
