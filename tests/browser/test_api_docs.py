"""In a real browser: the footer links to the API documentation, where Swagger UI (from its npm package) draws the
app's OpenAPI description under the app's CSP, with no violation, and "Try it out" calls the API with the session."""
from playwright.sync_api import expect

from tests.security.test_headers import RECORD_VIOLATIONS
from tests.support.browser import log_in
from tests.support.factories import add_project, add_user


def test_the_footer_leads_to_swagger_ui_over_the_openapi_description(page, live_server):
    olga = add_user("olga")
    add_project(olga, name="Quarry")
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, live_server, "olga")
    page.get_by_role("contentinfo").get_by_role("link", name="API documentation").click()
    expect(page.get_by_role("heading", name="API documentation")).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Aerie API")
    projects = page.locator(".opblock-get").filter(has_text="/api/projects/").first
    expect(projects).to_be_visible()

    # Try it out: GET /api/projects/ with the browser's session lists olga's project.
    projects.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").first.click()
    page.get_by_role("button", name="Execute").first.click()
    expect(page.locator(".responses-wrapper .live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(page.locator(".live-responses-table tbody .response-col_description")).to_contain_text("Quarry")
    page.screenshot(path="/tmp/aerie-api-docs.png", full_page=False)
    assert page.evaluate("window.__cspViolations") == []
    assert [text for text in console_errors if "Content Security Policy" in text] == []
