"""In a real browser: administrators reach the admin pages from the menu; other users cannot reach them at all."""
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_user

ADMIN_ONLY = ["/admin/users", "/admin/users/new", "/admin/groups", "/admin/queues", "/nodes/new"]


def test_a_non_administrator_cannot_reach_admin_pages(page, live_server):
    add_user("root", admin=True), add_user("bob")
    log_in(page, live_server, "bob")
    navigation = page.get_by_role("navigation").first
    expect(navigation.get_by_role("link", name="Users")).to_have_count(0)
    expect(navigation.get_by_role("link", name="Queues")).to_have_count(0)
    expect(navigation.get_by_role("link", name="Groups")).to_have_count(0)
    for path in ADMIN_ONLY:
        response = page.goto(live_server + path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="403 · Forbidden")).to_be_visible()
    page.goto(live_server + "/nodes")
    expect(page.get_by_text("Ask your administrator to add a processing node.")).to_be_visible()
    expect(page.get_by_role("link", name="Add a node")).to_have_count(0)
    page.screenshot(path="/tmp/aerie-nodes-user.png", full_page=True)


def test_an_administrator_disables_a_user_and_sees_the_queues(page, live_server):
    add_user("root", admin=True), add_user("bob")
    log_in(page, live_server, "root")
    page.get_by_role("navigation").first.get_by_role("link", name="Users").click()
    bob_row = page.locator("tr.user-row[data-username=bob]")
    page.once("dialog", lambda dialog: dialog.accept())
    bob_row.get_by_role("button", name="Disable bob").click()
    expect(page.get_by_role("alert").filter(has_text="bob is disabled.")).to_be_visible()
    expect(bob_row.locator(".user-state")).to_have_text("Disabled")
    page.screenshot(path="/tmp/aerie-admin-users.png", full_page=True)

    page.get_by_role("navigation").first.get_by_role("link", name="Queues").click()
    expect(page.get_by_role("heading", name="Queues and workers")).to_be_visible()
    expect(page.get_by_text("No worker is running")).to_be_visible()
    page.screenshot(path="/tmp/aerie-admin-queues.png", full_page=True)


def test_admin_pages_fit_a_phone_screen(page, live_server):
    add_user("root", admin=True), add_user("bob")
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, live_server, "root")
    for path in ["/admin/users", "/admin/groups", "/admin/queues", "/admin/users/new", "/nodes", "/nodes/new",
                 "/account"]:
        page.goto(live_server + path)
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{path} is wider than the screen: {widths}"
