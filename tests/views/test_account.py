"""The account page: profile, and named API tokens shown once, listed, revoked."""
import re

import pytest

from tests.support.factories import add_user
from tests.support.web import post, signed_in
from webapp.extensions import db
from webapp.models import ApiToken


@pytest.fixture
def bob(app):
    """A logged-in ordinary user's client."""
    add_user("bob")
    return signed_in(app, "bob")


def api_status(app, secret):
    """The status of an API call made with secret as a bearer token."""
    return app.test_client().get("/api/projects/", headers={"Authorization": f"Bearer {secret}"}).status_code


def create_token(client, name):
    """Create a token through the page; (response, the secret shown on it or None)."""
    response = post(client, "/account/tokens", {"name": name})
    match = re.search(r'id="new-token-value" readonly value="([^"]+)"', response.get_data(as_text=True))
    return response, match.group(1) if match else None


def test_account_page_needs_login(client, app):
    add_user("root", admin=True)
    assert client.get("/account").headers["Location"].startswith("/login?next=")


def test_account_page_shows_the_profile_and_no_token_yet(bob):
    page = bob.get("/account").get_data(as_text=True)
    assert "bob" in page and "Change password" in page and "No API token yet." in page


def test_a_new_token_is_shown_once_works_and_is_listed_by_its_prefix(app, bob):
    response, secret = create_token(bob, "  Nightly script ")
    assert response.status_code == 200 and secret is not None
    assert "Copy it now: it will not be shown again." in response.get_data(as_text=True)
    assert api_status(app, secret) == 200
    page = bob.get("/account").get_data(as_text=True)
    assert "Nightly script" in page and secret[:12] in page and secret not in page
    stored = ApiToken.query.one()
    assert stored.name == "Nightly script" and secret not in stored.token_hash


def test_revoking_a_token_stops_it_at_once(app, bob):
    _, secret = create_token(bob, "laptop")
    token_id = ApiToken.query.one().id
    response = post(bob, f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 302
    assert "The API token was revoked." in bob.get("/account").get_data(as_text=True)
    assert ApiToken.query.count() == 0 and api_status(app, secret) == 403


def test_empty_token_name_shows_a_message_and_stores_nothing(bob):
    response, secret = create_token(bob, "   ")
    assert response.status_code == 400 and secret is None
    assert "This field is required." in response.get_data(as_text=True)
    assert ApiToken.query.count() == 0


def test_too_long_token_name_is_refused(bob):
    response, _ = create_token(bob, "x" * 101)
    assert response.status_code == 400 and "Field cannot be longer than 100 characters." in response.get_data(as_text=True)
    assert ApiToken.query.count() == 0


def test_nobody_sees_or_revokes_another_users_tokens(app, bob):
    _, secret = create_token(bob, "bob's token")
    token_id = ApiToken.query.one().id
    add_user("eve")
    eve = signed_in(app, "eve")
    assert "bob&#39;s token" not in eve.get("/account").get_data(as_text=True)
    assert post(eve, f"/account/tokens/{token_id}/revoke").status_code == 404
    db.session.expire_all()
    assert ApiToken.query.count() == 1 and api_status(app, secret) == 200


def test_token_form_without_csrf_token_creates_nothing(bob):
    response = bob.post("/account/tokens", data={"name": "forged"})
    assert response.status_code == 302 and ApiToken.query.count() == 0
