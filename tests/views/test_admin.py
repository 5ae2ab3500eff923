"""Administration pages: users (disable, reset password, administrator role) and the job queues; admins only."""
import pytest
from rq import SimpleWorker, Worker

from tests.support.web import free_port, post, signed_in
from tests.support.factories import add_user
from webapp import queue
from webapp.extensions import db
from webapp.models import User
from webapp.services import tokens


@pytest.fixture
def root(app):
    """A logged-in administrator's client."""
    add_user("root", admin=True)
    return signed_in(app, "root")


@pytest.fixture
def bob_user(app):
    """Bob, an ordinary user."""
    return add_user("bob")


def stored(username):
    """The user as now stored."""
    db.session.expire_all()
    return User.query.filter_by(username=username).one()


def failed_job():
    """Run a job that fails (int("not a number")) through a real worker; its id."""
    job = queue.enqueue("builtins.int", "not a number")
    SimpleWorker([queue.job_queue()], connection=queue.redis_connection()).work(burst=True)
    assert job.get_status(refresh=True) == "failed"
    return job.id


ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/queues", "/admin/users/1/password"]
ADMIN_ACTIONS = ["/admin/users/1/disable", "/admin/users/1/enable", "/admin/users/1/make-admin",
                 "/admin/users/1/revoke-admin", "/admin/users/1/password", "/admin/users/new",
                 "/admin/queues/failed/{job}/requeue", "/admin/queues/failed/{job}/delete"]


def test_visitors_are_sent_to_login(client, app):
    add_user("root", admin=True)
    for url in ADMIN_PAGES:
        assert client.get(url).headers["Location"].startswith("/login?next="), url


def test_non_admins_get_403_on_every_admin_page_and_action_and_nothing_changes(app, bob_user):
    add_user("root", admin=True)
    job_id = failed_job()
    bob = signed_in(app, "bob")
    for url in ADMIN_PAGES:
        response = bob.get(url)
        assert response.status_code == 403 and "This page is for administrators." in response.get_data(as_text=True)
    for url in ADMIN_ACTIONS:
        # Valid for every form, so only the permission check can refuse it.
        data = {"username": "mallory", "password": "mallory-password", "new_password": "mallory-password",
                "confirm": "mallory-password"}
        assert post(bob, url.format(job=job_id), data).status_code == 403, url
    root_user = stored("root")
    assert root_user.active and root_user.is_admin and root_user.check_password("root-password")
    assert not stored("bob").is_admin
    assert User.query.count() == 2
    assert queue.job_queue().failed_job_registry.get_job_ids() == [job_id]
    assert "Users" not in bob.get("/").get_data(as_text=True).split("<main")[0]  # no admin links in the nav


def test_users_page_lists_accounts_with_their_actions(root, bob_user):
    page = root.get("/admin/users").get_data(as_text=True)
    assert 'data-username="bob"' in page and 'data-username="root"' in page
    assert "Make administrator" in page and "Disable" in page and "Reset password" in page


def test_disabling_logs_the_user_out_and_stops_their_login_and_tokens(app, root, bob_user):
    bob = signed_in(app, "bob")
    _, secret = tokens.create_api_token(bob_user, "script")
    assert app.test_client().get("/api/projects/", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    response = post(root, f"/admin/users/{bob_user.id}/disable")
    assert response.status_code == 302
    assert "bob is disabled." in root.get("/admin/users").get_data(as_text=True)
    assert not stored("bob").active
    assert bob.get("/").headers["Location"].startswith("/login")
    assert app.test_client().get("/api/projects/", headers={"Authorization": f"Bearer {secret}"}).status_code == 403
    with pytest.raises(AssertionError, match="login of bob failed"):
        signed_in(app, "bob")
    post(root, f"/admin/users/{bob_user.id}/enable")
    assert stored("bob").active
    assert signed_in(app, "bob").get("/").status_code == 200


def test_an_admin_cannot_disable_or_demote_themselves(root):
    me = stored("root")
    response = post(root, f"/admin/users/{me.id}/disable")
    assert "You cannot disable your own account." in root.get(response.headers["Location"]).get_data(as_text=True)
    response = post(root, f"/admin/users/{me.id}/revoke-admin")
    assert "You cannot remove your own administrator role." in \
        root.get(response.headers["Location"]).get_data(as_text=True)
    assert stored("root").active and stored("root").is_admin


def test_make_and_unmake_an_administrator(app, root, bob_user):
    post(root, f"/admin/users/{bob_user.id}/make-admin")
    assert stored("bob").is_admin
    bob = signed_in(app, "bob")
    assert bob.get("/admin/users").status_code == 200
    post(root, f"/admin/users/{bob_user.id}/revoke-admin")
    assert not stored("bob").is_admin
    assert bob.get("/admin/users").status_code == 403


@pytest.mark.parametrize("new, confirm, message", [
    ("short", "short", "Field must be at least 8 characters long."),
    ("long-enough-1", "long-enough-2", "The passwords differ."),
    ("", "", "This field is required."),
])
def test_bad_new_password_shows_a_message_and_keeps_the_old_one(root, bob_user, new, confirm, message):
    response = post(root, f"/admin/users/{bob_user.id}/password", {"new_password": new, "confirm": confirm})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert stored("bob").check_password("bob-password")


def test_reset_password_lets_the_user_log_in_with_the_new_one(root, bob_user):
    assert "Reset the password of bob" in root.get(f"/admin/users/{bob_user.id}/password").get_data(as_text=True)
    response = post(root, f"/admin/users/{bob_user.id}/password",
                    {"new_password": "brand-new-pass", "confirm": "brand-new-pass"})
    assert response.status_code == 302
    assert "The password of bob was changed." in root.get("/admin/users").get_data(as_text=True)
    assert stored("bob").check_password("brand-new-pass") and not stored("bob").check_password("bob-password")


def test_unknown_user_is_404(root):
    assert root.get("/admin/users/999/password").status_code == 404
    assert post(root, "/admin/users/999/disable").status_code == 404


def test_queues_page_shows_counts_workers_and_failed_jobs_with_their_error(root):
    job_id = failed_job()
    queue.enqueue("builtins.len", "waiting")
    worker = Worker([queue.job_queue()], connection=queue.redis_connection(), name="worker-on-test")
    worker.register_birth()
    worker.set_state("idle")
    try:
        page = root.get("/admin/queues").get_data(as_text=True)
    finally:
        worker.register_death()
    assert 'data-count="queued">1<' in page and 'data-count="failed">1<' in page and 'data-count="started">0<' in page
    assert "worker-on-test" in page and ">idle<" in page
    assert f'data-job-id="{job_id}"' in page
    assert "ValueError: invalid literal for int() with base 10: &#39;not a number&#39;" in page


def test_empty_queues_say_so(root):
    page = root.get("/admin/queues").get_data(as_text=True)
    assert "No worker is running" in page and "No failed job." in page


def test_requeue_then_delete_a_failed_job(root):
    job_id = failed_job()
    jobs = queue.job_queue()
    response = post(root, f"/admin/queues/failed/{job_id}/requeue")
    assert response.status_code == 302
    assert f"Job {job_id} is queued again." in root.get("/admin/queues").get_data(as_text=True)
    assert jobs.failed_job_registry.count == 0 and jobs.job_ids == [job_id]

    SimpleWorker([jobs], connection=queue.redis_connection()).work(burst=True)  # it fails again
    post(root, f"/admin/queues/failed/{job_id}/delete")
    assert jobs.failed_job_registry.count == 0 and jobs.fetch_job(job_id) is None


def test_requeue_or_delete_of_an_unknown_job_is_404(root):
    assert post(root, "/admin/queues/failed/no-such-job/requeue").status_code == 404
    assert post(root, "/admin/queues/failed/no-such-job/delete").status_code == 404


def test_queues_page_says_when_redis_does_not_answer(app, root):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app.extensions.pop("aerie_redis", None)
    response = root.get("/admin/queues")
    assert response.status_code == 503 and "Redis does not answer" in response.get_data(as_text=True)
