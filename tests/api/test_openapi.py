"""The OpenAPI description matches the server: every route of the api blueprint is in it, and nothing else."""
import re

from tests.support.web import auth

METHODS = {"get", "post", "put", "patch", "delete"}


def served_operations(app):
    """{(path, method)} of the api blueprint's rules, paths in OpenAPI form with a trailing slash."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        path = path if path.endswith("/") or path.endswith(".json") else path + "/"
        operations |= {(path, method.lower()) for method in rule.methods if method.lower() in METHODS}
    return operations


def described_operations(spec):
    """{(path, method)} of the description, paths with a trailing slash."""
    return {(path if path.endswith("/") or path.endswith(".json") else path + "/", method)
            for path, item in spec["paths"].items() for method in item if method in METHODS}


def test_openapi_describes_exactly_the_served_routes(app, client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert described_operations(spec) == served_operations(app)


def test_openapi_references_resolve_and_path_parameters_are_declared(client):
    spec = client.get("/api/openapi.json").json
    schemas = spec["components"]["schemas"]
    for ref in re.findall(r'"\$ref": "#/components/schemas/([A-Za-z]+)"', str(spec).replace("'", '"')):
        assert ref in schemas
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{([a-z_]+)}", path)), (path, method)


def test_the_task_schema_lists_the_fields_the_server_sends(client, users, project):
    spec = client.get("/api/openapi.json").json
    from tests.support.images import image_files
    task = client.post(f"/api/projects/{project.id}/tasks/", headers=auth(users["owner"]),
                       data={"images": image_files(2)}).json
    assert list(spec["components"]["schemas"]["Task"]["properties"]) == list(task)
    project_json = client.get(f"/api/projects/{project.id}/", headers=auth(users["owner"])).json
    assert list(spec["components"]["schemas"]["Project"]["properties"]) == list(project_json)
