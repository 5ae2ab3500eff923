"""In a real browser, two users side by side: one shares a project, the other sees and changes it."""
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_user


def test_share_a_project_and_see_it_as_the_other_user(page, second_page, live_server):
    add_user("olga"), add_user("bob")
    log_in(page, live_server, "olga")
    page.get_by_label("Name").fill("Quarry")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("link", name="Settings of Quarry").click()
    expect(page.get_by_text("Only olga can see this project")).to_be_visible()

    page.get_by_label("Username").fill("nobody")
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.get_by_text("No user named 'nobody'.")).to_be_visible()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Access", exact=True).select_option("change")
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Project shared with bob.")).to_be_visible()
    expect(page.locator("#share-list .share-username")).to_have_text(["bob"])
    page.screenshot(path="/tmp/aerie-sharing-owner.png", full_page=True)

    bob = second_page
    log_in(bob, live_server, "bob")
    expect(bob.get_by_text("shared by olga")).to_be_visible()
    bob.get_by_role("link", name="Settings of Quarry").click()
    bob.get_by_label("Name", exact=True).fill("Quarry (checked by Bob)")
    bob.get_by_role("button", name="Save").click()
    expect(bob.get_by_role("alert").filter(has_text="Project saved.")).to_be_visible()
    bob.screenshot(path="/tmp/aerie-sharing-bob.png", full_page=True)

    page.goto(live_server + "/")
    expect(page.locator("#project-list .project-name")).to_have_text(["Quarry (checked by Bob)"])

    page.get_by_role("link", name="Settings of Quarry (checked by Bob)").click()
    page.get_by_label("Access of bob").select_option("view")
    page.get_by_role("button", name="Change access of bob").click()
    expect(page.get_by_role("alert").filter(has_text="Access of bob changed.")).to_be_visible()
    bob.reload()
    expect(bob.get_by_role("heading", name="404 · Not found")).to_be_visible()
    bob.goto(live_server + "/")
    expect(bob.locator("#project-list .project-name")).to_have_text(["Quarry (checked by Bob)"])

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove bob").click()
    expect(page.get_by_text("bob no longer has access to this project.")).to_be_visible()
    bob.reload()
    expect(bob.get_by_text("No project yet")).to_be_visible()
