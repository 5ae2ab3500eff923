"""Requests whose uploaded files are spooled beside the media, so that storing them is a hard link, not a copy."""
import tempfile

from flask import Request
from werkzeug.formparser import default_stream_factory

from webapp import storage

SPOOL_ABOVE = 500 * 1024  # as werkzeug: smaller requests keep their files in memory


class MediaSpooledRequest(Request):
    """A request that writes big uploaded files to storage.spool_dir() (deleted when the request ends)."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        """A named temporary file on the media's filesystem for big requests, else werkzeug's default."""
        if total_content_length is None or total_content_length > SPOOL_ABOVE:
            spool = storage.spool_dir()
            spool.mkdir(parents=True, exist_ok=True)
            return tempfile.NamedTemporaryFile("rb+", dir=spool)
        return default_stream_factory(total_content_length, content_type, filename, content_length)
