"""First-run setup, login, logout, password change, and their bad input."""
from tests.support.web import csrf_token_of

from webapp.models import User


def post_form(client, url, data):
    """POST a form with the CSRF token of the page at url."""
    token = csrf_token_of(client.get(url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_first_visit_goes_to_setup_which_creates_the_admin(client):
    assert client.get("/").headers["Location"].endswith("/setup")
    response = post_form(client, "/setup", {"username": "ada", "password": "long-password", "confirm": "long-password"})
    assert response.status_code == 302
    user = User.query.one()
    assert user.username == "ada" and user.is_admin
    assert user.password_hash.startswith("scrypt:") and "long-password" not in user.password_hash
    assert client.get("/").status_code == 200  # logged in by setup


def test_setup_is_closed_once_an_admin_exists(client, admin):
    assert client.get("/setup").headers["Location"].endswith("/login")
    token_page = client.get("/login").get_data(as_text=True)
    client.post("/setup", data={"username": "eve", "password": "x" * 10, "confirm": "x" * 10,
                                "csrf_token": csrf_token_of(token_page)})
    assert User.query.filter_by(username="eve").first() is None


def test_setup_with_mismatched_passwords_shows_the_error_and_stores_nothing(client):
    response = post_form(client, "/setup", {"username": "ada", "password": "long-password", "confirm": "other-pass"})
    assert response.status_code == 200
    assert "The passwords differ." in response.get_data(as_text=True)
    assert User.query.count() == 0


def test_wrong_password_shows_a_message(client, admin):
    response = post_form(client, "/login", {"username": "admin", "password": "wrong-password"})
    assert response.status_code == 200
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_login_then_logout(client, admin, login):
    login("admin", "admin-password")
    assert client.get("/").status_code == 200
    page = client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token_of(page)})
    assert client.get("/").headers["Location"].startswith("/login")


def test_disabled_user_cannot_log_in(client, admin, make_user):
    user = make_user("bob")
    user.active = False
    from webapp.extensions import db
    db.session.commit()
    response = post_form(client, "/login", {"username": "bob", "password": "bob-password"})
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_next_redirect_stays_on_this_site(client, admin):
    for target, expected in [("/account/password", "/account/password"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\\evil.example", "/")]:
        token = csrf_token_of(client.get("/login").get_data(as_text=True))
        response = client.post("/login", query_string={"next": target},
                               data={"username": "admin", "password": "admin-password", "csrf_token": token})
        assert response.headers["Location"] == expected, target
        client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/").get_data(as_text=True))})


def test_post_without_csrf_token_is_refused_with_a_message(client, admin):
    response = client.post("/login", data={"username": "admin", "password": "admin-password"},
                           follow_redirects=True)
    assert "Your form had expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in


def test_change_password(client, admin, login):
    login("admin", "admin-password")
    response = post_form(client, "/account/password", {"current_password": "nope-nope", "new_password": "new-password",
                                                       "confirm": "new-password"})
    assert "The current password is wrong." in response.get_data(as_text=True)
    response = post_form(client, "/account/password", {"current_password": "admin-password",
                                                       "new_password": "new-password", "confirm": "new-password"})
    assert response.status_code == 302
    assert User.query.filter_by(username="admin").one().check_password("new-password")


def test_admin_creates_users_and_duplicates_are_refused(client, admin, login):
    login("admin", "admin-password")
    response = post_form(client, "/admin/users/new", {"username": "bob", "password": "bob-password",
                                                      "confirm": "bob-password"})
    assert response.status_code == 302
    response = post_form(client, "/admin/users/new", {"username": "BOB", "password": "bob-password",
                                                      "confirm": "bob-password"})
    assert "A user with that username already exists." in response.get_data(as_text=True)
    assert User.query.count() == 2


def test_users_page_is_for_administrators_only(client, admin, make_user, login):
    make_user("bob")
    login("bob", "bob-password")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403


def test_login_form_is_rate_limited_per_account(client, admin, app):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    for _ in range(3):
        assert "Wrong username or password." in post_form(
            client, "/login", {"username": "admin", "password": "wrong-password"}).get_data(as_text=True)
    response = post_form(client, "/login", {"username": "admin", "password": "admin-password"})
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in


def test_stale_csrf_on_a_post_only_route_goes_back_to_the_form_page(client, admin, login):
    login("admin", "admin-password")
    response = client.post("/projects/new", data={"name": "x"}, headers={"Referer": "http://localhost/?page=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/?page=1"
    response = client.post("/projects/new", data={"name": "x"})  # no referrer: the dashboard, not a 405
    assert response.headers["Location"] == "/"
    response = client.post("/logout", data={}, headers={"Referer": "https://evil.example/page"})
    assert response.headers["Location"] == "/"
