"""CSRF: every form refuses a POST without its token; the API refuses a session cookie without X-CSRFToken on
unsafe methods, and needs no token with a JWT."""
import pytest
from werkzeug.exceptions import HTTPException

from tests.security.test_matrix import MATRIX, _url, _values
from webapp.extensions import db
from webapp.models import Project

EXPIRED = "Your form had expired. Please check it and send it again."
PAGE_POSTS = sorted(rule for rule, method in MATRIX if method == "POST" and not rule.startswith("/api/"))
API_UNSAFE = sorted((rule, method) for rule, method in MATRIX
                    if method in ("POST", "PUT", "PATCH", "DELETE") and rule.startswith("/api/"))


def _role_for(rule):
    """Who may use a form: the administrator for administrators' pages, else the owner of the objects."""
    return "admin" if rule.startswith(("/admin/", "/nodes/")) else "owner"


def _form_page(app, url):
    """Where a refused form sends the user back to (no referrer here): the address itself if it serves GET,
    else the dashboard (never a page that would answer 405)."""
    try:
        app.url_map.bind("localhost").match(url, method="GET")
        return url
    except HTTPException:
        return "/"


@pytest.mark.parametrize("rule", PAGE_POSTS)
def test_every_form_refuses_a_post_without_its_token(secure_app, people, rule):
    """The CSRF handler answers (a redirect back with the "expired" message), whatever the form."""
    person = people["anonymous" if rule in ("/login", "/setup") else _role_for(rule)]
    url = _url(rule, _values(people, _role_for(rule), [1000 + PAGE_POSTS.index(rule)]))
    body, _ = MATRIX[(rule, "POST")]
    projects_before = Project.query.count()
    response = person.client.post(url, data=body)
    assert response.status_code == 302 and response.headers["Location"] == _form_page(secure_app, url)
    with person.client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    assert ("warning", EXPIRED) in flashes
    db.session.expire_all()
    assert Project.query.count() == projects_before  # nothing was created nor deleted


@pytest.mark.parametrize("rule, method", API_UNSAFE)
def test_api_with_a_session_cookie_needs_the_csrf_header(secure_app, people, rule, method):
    """An unsafe API call made with the session cookie alone is refused with 403 "CSRF Failed"."""
    person = people["admin" if "processingnodes" in rule else "owner"]
    url = _url(rule, _values(people, "owner", [2000 + API_UNSAFE.index((rule, method))]))
    body, _ = MATRIX[(rule, method)]
    response = person.client.open(url, method=method, data=body)
    assert response.status_code == 403
    assert response.get_json()["detail"].startswith("CSRF Failed")


def test_api_with_a_session_cookie_and_the_csrf_header_is_served(secure_app, people):
    """The same call with the page's token in X-CSRFToken goes through."""
    owner = people["owner"]
    response = owner.client.post("/api/projects/", data={"name": "By session"},
                                 headers={"X-CSRFToken": owner.csrf})
    assert response.status_code == 201


def test_api_with_a_jwt_needs_no_csrf_token(secure_app, people):
    """A JWT is not sent by browsers on their own, so it needs no CSRF token (a fresh client: no cookie)."""
    response = secure_app.test_client().post("/api/projects/", data={"name": "By JWT"},
                                             headers=people["owner"].api_headers)
    assert response.status_code == 201
