"""Security headers on every response: no MIME sniffing, no framing, a same-origin referrer, a strict CSP.
Also the bounded <int:> URL converter, so that no number from a URL overflows the database, and safe_next against
open redirects."""
from urllib.parse import urlsplit

from flask import url_for
from werkzeug.routing import IntegerConverter

from webapp.models.base import MAX_DATABASE_INT


# What pages may load. Everything comes from this origin: our scripts and styles under /static, the front-end
# libraries under /vendor, tiles and thumbnails under /api. Scripts: files only, no inline code and no eval, so an
# injected <script> or onclick does not run. Styles allow inline style attributes: templates set progress bar
# widths with them and Leaflet positions its panes with them; a style cannot run code. Images allow data: and
# blob: URIs, which Bootstrap's CSS (form control icons) and Leaflet use.
def content_security_policy(image_origins=()):
    """The policy; image_origins adds the origins a page shows images from (the map's base layers)."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        " ".join(["img-src 'self' data: blob:", *image_origins]),
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


CONTENT_SECURITY_POLICY = content_security_policy()

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that do not know CSP frame-ancestors
    "Referrer-Policy": "same-origin",  # page addresses (with ids, ?jwt=) never leak to other sites
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


def add_security_headers(response):
    """Add the security headers to a response, keeping any a view set itself."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register_security_headers(app):
    """Install the after_request hook that adds the security headers."""
    app.after_request(add_security_headers)


class BoundedIntConverter(IntegerConverter):
    """<int:...> up to MAX_DATABASE_INT: a bigger number in a URL matches no route (404) instead of a 500."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_DATABASE_INT, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_url_converters(app):
    """Use the bounded int converter for every <int:> of every route (call before registering blueprints)."""
    app.url_map.converters["int"] = BoundedIntConverter


def safe_next(target):
    """The `next` address if it stays on this site, else the dashboard (no open redirect to another site)."""
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return url_for("dashboard.index")
