"""A WSGI app that answers every request with the same bytes and does nothing else.

bench/tiles.py serves it with gunicorn as it serves Aerie: its requests per second are the ceiling that the
server and the benchmark's HTTP client allow, before any work of ours. EMPTY_APP_BYTES sets the body's size
(default 20 KB; the tile benchmark gives its tiles' mean size, as sending the bytes is part of the ceiling).
"""
import os
from urllib.parse import parse_qs

BODY = b"\0" * int(os.environ.get("EMPTY_APP_BYTES", 20_000))


def app(environ, start_response):
    """Answer any request with BODY, or with `?bytes=N` bytes (bench/api.py: as many as the figure's answer)."""
    size = parse_qs(environ.get("QUERY_STRING", "")).get("bytes")
    body = b"\0" * int(size[0]) if size else BODY
    start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(body)))])
    return [body]
