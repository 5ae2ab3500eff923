"""Request bodies read in big pieces, and uploaded files spooled beside the media so that storing them is a hard
link, not a copy."""
import io
import tempfile

from flask import Request
from werkzeug.formparser import default_stream_factory

from webapp import storage

SPOOL_ABOVE = 500 * 1024  # as werkzeug: smaller requests keep their files in memory
READ_BLOCK = 1024 * 1024  # how much of a big request body is taken from the server at once
BUFFER_ABOVE = 256 * 1024  # smaller bodies are read as they come


class MediaSpooledRequest(Request):
    """A request that writes big uploaded files to storage.spool_dir() (deleted when the request ends)."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        """A named temporary file on the media's filesystem for big requests, else werkzeug's default."""
        if total_content_length is None or total_content_length > SPOOL_ABOVE:
            spool = storage.spool_dir()
            spool.mkdir(parents=True, exist_ok=True)
            return tempfile.NamedTemporaryFile("rb+", dir=spool)
        return default_stream_factory(total_content_length, content_type, filename, content_length)


class BufferedRequestBody:
    """WSGI middleware: a big request body is handed to the app through a READ_BLOCK buffer.

    Werkzeug's form parser reads a body 64 KB at a time. gunicorn answers each such read from what it took off
    the socket (up to 1 MB) and copies the rest of that piece again every time, so that reading 100 MB cost 0.8 s
    of CPU instead of 0.1 s (bench/README.md, uploads). Taking a whole block at once and slicing it here is cheap
    whatever the server does. The buffer never asks the server for more than the body: some servers (Werkzeug's
    own) hand over the raw connection, where reading past the body would wait for the client's next request."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        """Wrap wsgi.input when the body is big, or of unknown length that the server ends itself; call the app."""
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit() and int(length) > BUFFER_ABOVE:
            environ["wsgi.input"] = io.BufferedReader(_RawBody(environ["wsgi.input"], int(length)), READ_BLOCK)
        elif not length and environ.get("wsgi.input_terminated"):  # a chunked body: the server says where it ends
            environ["wsgi.input"] = io.BufferedReader(_RawBody(environ["wsgi.input"], None), READ_BLOCK)
        return self.wsgi_app(environ, start_response)


class _RawBody(io.RawIOBase):
    """The server's wsgi.input as a raw stream of at most `length` bytes (None: as many as the server gives)."""

    def __init__(self, body, length):
        super().__init__()
        self.body = body
        self.remaining = length

    def readable(self):
        """Always: it is a request body."""
        return True

    def readinto(self, buffer):
        """Fill buffer with one read from the server, never past the body's length; 0 at its end."""
        wanted = len(buffer) if self.remaining is None else min(len(buffer), self.remaining)
        data = self.body.read(wanted) if wanted else b""
        buffer[:len(data)] = data
        if self.remaining is not None:
            self.remaining -= len(data)
        return len(data)
