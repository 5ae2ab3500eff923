"""Helpers for tests that talk to the app over HTTP: ports, CSRF tokens, logged-in clients, API headers."""
import re
import socket

from webapp.services import tokens


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def csrf_token_of(html):
    """The CSRF token of the first form in an HTML page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def signed_in(app, name):
    """A new test client (its own cookies) logged in as name (password '<name>-password')."""
    client = app.test_client()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": name, "password": f"{name}-password", "csrf_token": token})
    assert response.status_code == 302, f"login of {name} failed"
    return client


def post(client, url, data=None):
    """POST a form to url with the session's CSRF token (taken from the account page)."""
    token = csrf_token_of(client.get("/account").get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def auth(user):
    """Authorization headers of a JWT for user."""
    return {"Authorization": f"JWT {tokens.issue_jwt(user)}"}
