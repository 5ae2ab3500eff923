"""Fuzzing the API from its OpenAPI description with schemathesis: no generated request gets a 5xx.

In-process against the WSGI app, every operation, as an administrator and as an ordinary user (JWT), each
owning a project with a completed task, so that requests with small ids reach the code behind the permission
checks. Derandomized: the same examples every run.
"""
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck

from tests.security.test_matrix import _new_target

pytestmark = pytest.mark.slow  # schemathesis sends hundreds of generated requests through the whole API

EXAMPLES_PER_OPERATION = 15  # per role: about 50 s each on 2 busy cores


@pytest.fixture(scope="module")
def api_schema(secure_app, people):
    """The app's own OpenAPI description, with objects for small ids to point at."""
    for kind in ("private", "public_task", "private"):
        _new_target(people, kind)
    _new_target(people, "private", owner="admin")
    return schemathesis.openapi.from_wsgi("/api/openapi.json", secure_app)


def _server_errors(operation, headers):
    """Run the operation's generated examples; the descriptions of those answered with a 500 or more."""
    errors = []

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
    def run(case):
        response = case.call(headers=headers)
        if response.status_code >= 500:
            errors.append(f"{response.status_code} {response.text[:200]}\n  {case.as_curl_command()}")

    run()
    return errors


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_no_generated_request_gets_a_server_error(api_schema, people, role):
    """Whatever the body, query or path of any operation, the answer is never a 5xx (bad input is a JSON 4xx)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30  # the whole API, not a description that failed to load
    found = {}
    for operation in operations:
        errors = _server_errors(operation, people[role].api_headers)
        if errors:
            found[operation.label] = errors
    assert not found, "\n".join(f"{label}:\n" + "\n".join(errors[:3]) for label, errors in found.items())


def test_an_id_too_big_for_the_database_is_not_found(secure_app, people):
    """Found by the fuzzer: ids over 64 bits overflowed SQLite (500); they match no route now (404)."""
    owner = people["owner"]
    huge = 2 ** 64
    for url in (f"/api/projects/{huge}/", f"/api/projects/1/tasks/{huge}/", f"/api/processingnodes/{huge}/",
                f"/projects/{huge}/settings"):
        assert owner.client.get(url, headers=owner.api_headers).status_code == 404, url


def test_a_webhook_token_with_non_ascii_characters_is_not_found(secure_app):
    """Found by the fuzzer: hmac.compare_digest raised TypeError on a non-ASCII token (500)."""
    response = secure_app.test_client().post("/api/webhooks/task/1/%C3%9B%3B")
    assert response.status_code == 404 and response.get_json() == {"detail": "Not found."}


@pytest.mark.parametrize("node_id", [str(-2 ** 73), str(2 ** 64), str(2 ** 63)])
def test_a_processing_node_id_too_big_for_the_database_is_refused(secure_app, people, node_id):
    """Found by the fuzzer (multipart POST of a task as an administrator): a processing_node beyond 64 bits
    overflowed SQLite (500); it is now a 400 naming the field, for a new task and for a change of one."""
    admin = people["admin"]
    project, task = _new_target(people, "private", owner="admin")
    created = admin.client.post(f"/api/projects/{project.id}/tasks/", headers=admin.api_headers,
                                data={"processing_node": node_id, "partial": "true"},
                                content_type="multipart/form-data")
    changed = admin.client.patch(f"/api/projects/{project.id}/tasks/{task.id}/", headers=admin.api_headers,
                                 json={"processing_node": int(node_id)})
    for response in (created, changed):
        assert response.status_code == 400 and "processing_node" in response.get_json(), response.get_data()
