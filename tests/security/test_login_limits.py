"""Login rate limiting, on the web form and on /api/token-auth/, per account and per address, shared by both."""
from tests.support.web import csrf_token_of
from tests.support.factories import add_user


def _form_login(client, username, password):
    """Post the login form with its CSRF token; the response."""
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _api_login(client, username, password):
    """Ask /api/token-auth/ for a token; the response."""
    return client.post("/api/token-auth/", json={"username": username, "password": password})


def test_an_account_locked_through_the_form_is_locked_for_the_api_too(app, client):
    """After the account's failures, even the right password is refused, on both doors, with a 429."""
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    add_user("target")
    for _ in range(3):
        assert _form_login(client, "target", "guess").status_code == 200
    assert _form_login(client, "target", "target-password").status_code == 429
    locked = _api_login(client, "target", "target-password")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_one_address_trying_many_accounts_is_stopped(app, client):
    """Per address: failures spread over many accounts still count, on the API and on the form."""
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 4
    add_user("victim")
    for number in range(4):
        assert _api_login(client, f"someone{number}", "guess").status_code == 400
    assert _api_login(client, "victim", "victim-password").status_code == 429
    assert _form_login(client, "victim", "victim-password").status_code == 429


def test_a_good_login_under_the_limit_works(app, client):
    """A few failures do not lock the account."""
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    add_user("forgetful")
    assert _api_login(client, "forgetful", "guess").status_code == 400
    assert _api_login(client, "forgetful", "forgetful-password").status_code == 200
