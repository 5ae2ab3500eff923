"""Security headers on every kind of answer, and a Content-Security-Policy that the pages satisfy in a browser."""
import pytest
from playwright.sync_api import expect

from tests.support import maps
from tests.support.factories import add_project, add_user
from tests.support.web import signed_in


@pytest.fixture
def olga_task(app):
    """olga (an administrator, so that every page opens) with a completed task holding an orthophoto and DSM."""
    project = add_project(add_user("olga", admin=True), name="Quarry")
    return maps.completed_task(project, name="North pit")


def _check_headers(response):
    """The security headers are there, with a CSP that forbids inline scripts and framing."""
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"


def test_every_kind_of_answer_has_the_security_headers(app, olga_task):
    """A page, a redirect, an error page, API JSON and an API error, a tile, a static and a vendor file."""
    client = signed_in(app, "olga")
    task_api = f"/api/projects/{olga_task.project_id}/tasks/{olga_task.id}"
    answers = {"page": client.get("/"), "redirect": app.test_client().get("/"), "error page": client.get("/nope"),
               "api": client.get("/api/projects/"), "api error": client.get("/api/projects/999/"),
               "tile json": client.get(f"{task_api}/orthophoto/tiles.json"),
               "thumbnail": client.get(f"{task_api}/thumbnail.png"),
               "static": client.get("/static/css/aerie.css"),
               "vendor": client.get("/vendor/bootstrap/css/bootstrap.min.css")}
    assert {name: r.status_code for name, r in answers.items()} == {
        "page": 200, "redirect": 302, "error page": 404, "api": 200, "api error": 404, "tile json": 200,
        "thumbnail": 200, "static": 200, "vendor": 200}
    for response in answers.values():
        _check_headers(response)


# Records CSP violations as the browser reports them (the event fires for every blocked script, style, image...).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " "
                              + (event.sourceFile || "") + ":" + event.lineNumber);
});
"""


def test_the_main_pages_load_with_no_csp_violation(page, live_server, olga_task):
    """Every main page, in Chromium: no securitypolicyviolation event and no CSP error in the console."""
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    p, t = olga_task.project_id, olga_task.id
    page.goto(live_server + "/login")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("olga-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    violations = {}
    for path in ("/", "/account", "/account/password", "/nodes", "/admin/users", "/admin/users/new", "/admin/queues",
                 f"/projects/{p}/settings", f"/projects/{p}/tasks/new", f"/projects/{p}/tasks/{t}/",
                 f"/projects/{p}/tasks/{t}/map", f"/projects/{p}/map"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        found = page.evaluate("window.__cspViolations")
        if found:
            violations[path] = found
    assert page.locator("img.leaflet-tile-loaded").count() > 0  # the last map really drew its tiles
    assert violations == {}
    assert [m for m in console_errors if "Content Security Policy" in m] == []
