"""Authentication: token-auth, JWT in its three places, named API tokens, sessions with CSRF, the login limiter."""
import time

import jwt

from tests.api.conftest import PASSWORD
from tests.support.web import auth, csrf_token_of

from webapp.models import ApiToken
from webapp.services import tokens

NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}


def test_token_auth_with_form_or_json_gives_a_working_jwt(client, users):
    form = client.post("/api/token-auth/", data={"username": "owner", "password": PASSWORD})
    as_json = client.post("/api/token-auth", json={"username": "owner", "password": PASSWORD})
    assert form.status_code == as_json.status_code == 200
    for token in (form.json["token"], as_json.json["token"]):
        me = client.get("/api/projects/", headers={"Authorization": f"JWT {token}"})
        assert me.status_code == 200 and me.json == []


def test_token_auth_refuses_bad_credentials_with_the_seed_shape(client, users):
    response = client.post("/api/token-auth/", data={"username": "owner", "password": "wrong"})
    assert response.status_code == 400
    assert response.json == {"non_field_errors": ["Unable to log in with provided credentials."]}
    missing = client.post("/api/token-auth/", json={"username": "owner"})
    assert missing.status_code == 400 and missing.json == {"password": ["This field is required."]}
    not_json = client.post("/api/token-auth/", data="{oops", content_type="application/json")
    assert not_json.status_code == 400 and "JSON" in not_json.json["detail"]


def test_jwt_is_accepted_as_jwt_bearer_or_query_parameter(client, users):
    token = tokens.issue_jwt(users["owner"])
    for response in (client.get("/api/projects/", headers={"Authorization": f"JWT {token}"}),
                     client.get("/api/projects/", headers={"Authorization": f"Bearer {token}"}),
                     client.get(f"/api/projects/?jwt={token}")):
        assert response.status_code == 200


def test_no_bad_or_expired_credentials_are_403(app, client, users):
    assert client.get("/api/projects/").status_code == 403
    assert client.get("/api/projects/").json == NOT_AUTHENTICATED
    bad = client.get("/api/projects/", headers={"Authorization": "JWT not.a.token"})
    assert bad.status_code == 403 and "detail" in bad.json
    app.config["JWT_EXPIRATION_SECONDS"] = -10
    expired = tokens.issue_jwt(users["owner"])
    assert client.get("/api/projects/", headers={"Authorization": f"JWT {expired}"}).status_code == 403


def test_a_jwt_already_accepted_is_refused_once_it_expires(app, client, users):
    # A JWT's checked signature is remembered per process: its expiry must still be checked at every request.
    app.config["JWT_EXPIRATION_SECONDS"] = 2
    token = tokens.issue_jwt(users["owner"])
    headers = {"Authorization": f"JWT {token}"}
    assert client.get("/api/projects/", headers=headers).status_code == 200
    expiry = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expiry - time.time()) + 0.05)
    assert client.get("/api/projects/", headers=headers).status_code == 403


def test_a_jwt_signed_with_another_secret_is_refused(app, client, users):
    token = tokens.issue_jwt(users["owner"])
    assert client.get("/api/projects/", headers={"Authorization": f"JWT {token}"}).status_code == 200
    app.config["SECRET_KEY"] = "another secret key of this test"
    assert client.get("/api/projects/", headers={"Authorization": f"JWT {token}"}).status_code == 403


def test_jwt_of_a_disabled_user_stops_working(client, users):
    headers = auth(users["owner"])
    users["owner"].active = False
    from webapp.extensions import db
    db.session.commit()
    assert client.get("/api/projects/", headers=headers).status_code == 403


def test_session_cookie_works_and_needs_csrf_header_for_unsafe_methods(client, users, login):
    login("owner", PASSWORD)
    assert client.get("/api/projects/").status_code == 200
    refused = client.post("/api/projects/", json={"name": "No CSRF"})
    assert refused.status_code == 403 and refused.json["detail"].startswith("CSRF Failed")
    token = csrf_token_of(client.get("/").get_data(as_text=True))
    created = client.post("/api/projects/", json={"name": "With CSRF"}, headers={"X-CSRFToken": token})
    assert created.status_code == 201 and created.json["owner"] == "owner"


def test_named_api_tokens_are_created_used_listed_and_revoked(client, users):
    owner = auth(users["owner"])
    created = client.post("/api/tokens/", json={"name": "ci script"}, headers=owner)
    assert created.status_code == 201
    secret = created.json["token"]
    assert created.json["name"] == "ci script" and secret.startswith(created.json["prefix"])
    assert secret not in {t.token_hash for t in ApiToken.query.all()}  # only a hash is stored
    with_token = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/projects/", headers=with_token).status_code == 200
    assert client.get("/api/projects/", headers={"Authorization": f"JWT {secret}"}).status_code == 200
    listed = client.get("/api/tokens/", headers=owner).json
    assert [t["name"] for t in listed] == ["ci script"] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    # someone else cannot see or revoke it
    assert client.get("/api/tokens/", headers=auth(users["stranger"])).json == []
    assert client.delete(f"/api/tokens/{listed[0]['id']}/", headers=auth(users["stranger"])).status_code == 404
    assert client.delete(f"/api/tokens/{listed[0]['id']}", headers=owner).status_code == 204
    assert client.get("/api/projects/", headers=with_token).status_code == 403


def test_named_token_needs_a_name(client, users):
    response = client.post("/api/tokens/", json={"name": "  "}, headers=auth(users["owner"]))
    assert response.status_code == 400 and response.json == {"name": ["This field is required."]}
    assert client.post("/api/tokens/", json={"name": "x"}).status_code == 403


def test_failed_logins_are_limited_per_account(app, client, users):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 3
    for _ in range(3):
        assert client.post("/api/token-auth/", json={"username": "owner", "password": "bad"}).status_code == 400
    limited = client.post("/api/token-auth/", json={"username": "OWNER", "password": PASSWORD})
    assert limited.status_code == 429 and "Too many" in limited.json["detail"]
    assert int(limited.headers["Retry-After"]) > 0
    # another account from the same address is not locked out by the first one's count
    assert client.post("/api/token-auth/", json={"username": "viewer", "password": PASSWORD}).status_code == 200


def test_failed_logins_are_limited_per_address(app, client, users):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 2
    for name in ("viewer", "editor"):
        client.post("/api/token-auth/", json={"username": name, "password": "bad"})
    limited = client.post("/api/token-auth/", json={"username": "owner", "password": PASSWORD})
    assert limited.status_code == 429
    other_address = client.post("/api/token-auth/", json={"username": "owner", "password": PASSWORD},
                                environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_address.status_code == 200


def test_a_success_clears_the_account_count(app, client, users):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 2
    client.post("/api/token-auth/", json={"username": "owner", "password": "bad"})
    assert client.post("/api/token-auth/", json={"username": "owner", "password": PASSWORD}).status_code == 200
    client.post("/api/token-auth/", json={"username": "owner", "password": "bad"})
    assert client.post("/api/token-auth/", json={"username": "owner", "password": PASSWORD}).status_code == 200


def test_unknown_api_paths_and_methods_answer_json(client, users):
    missing = client.get("/api/nothing-here/", headers=auth(users["owner"]))
    assert missing.status_code == 404 and missing.json == {"detail": "Not found."}
    wrong_method = client.delete("/api/token-auth/")
    assert wrong_method.status_code == 405 and "not allowed" in wrong_method.json["detail"]
