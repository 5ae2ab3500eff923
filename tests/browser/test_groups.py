"""In a real browser: an administrator makes a group, its owner shares a project with it, and a member sees the
project come and go as they join and leave the group."""
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_project, add_user


def test_a_group_gets_a_project_and_loses_it_when_a_member_leaves(page, second_page, live_server):
    add_user("root", admin=True), add_user("bob"), add_user("carol")
    add_project(add_user("olga"), name="Quarry")

    # The administrator makes the group "Surveyors" with Bob and Carol in it.
    log_in(page, live_server, "root")
    page.get_by_role("navigation").first.get_by_role("link", name="Groups").click()
    expect(page.get_by_text("No group yet.")).to_be_visible()
    page.get_by_label("Group name").fill("Surveyors")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("alert").filter(has_text="Group Surveyors created")).to_be_visible()
    page.get_by_label("Username").fill("nobody")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("No user named “nobody”.")).to_be_visible()
    for name in ("bob", "carol"):
        page.get_by_label("Username").fill(name)
        page.get_by_role("button", name="Add member").click()
        expect(page.get_by_role("alert").filter(has_text=f"{name} is now in Surveyors.")).to_be_visible()
    expect(page.locator("#member-list .member-row")).to_have_count(2)
    page.get_by_role("link", name="Groups", exact=True).first.click()
    page.get_by_label("Group name").fill("surveyors")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_text("A group named “Surveyors” already exists.")).to_be_visible()
    expect(page.locator("#group-list .group-members")).to_have_text(["bob, carol"])
    page.screenshot(path="/tmp/aerie-admin-groups.png", full_page=True)

    # Olga shares her project with the group, for viewing and changing.
    log_in(second_page, live_server, "olga")
    second_page.get_by_role("link", name="Settings of Quarry").click()
    second_page.get_by_label("Group", exact=True).select_option(label="Surveyors")
    second_page.locator("#group-share-form").get_by_label("Access").select_option("change")
    second_page.get_by_role("button", name="Share with the group").click()
    expect(second_page.get_by_role("alert").filter(has_text="Project shared with the group Surveyors.")).to_be_visible()
    expect(second_page.locator("#group-share-list .group-share-name")).to_have_text(["Surveyors"])
    expect(second_page.get_by_label("Access of the group Surveyors")).to_have_value("change")
    second_page.screenshot(path="/tmp/aerie-sharing-group.png", full_page=True)

    # Bob sees it and may change it; once out of the group, it is gone at once.
    second_page.context.clear_cookies()
    log_in(second_page, live_server, "bob")
    expect(second_page.locator("#project-list .project-name")).to_have_text(["Quarry"])
    second_page.get_by_role("link", name="Settings of Quarry").click()
    expect(second_page.get_by_role("heading", name="Settings of “Quarry”")).to_be_visible()

    page.get_by_role("link", name="Surveyors").click()
    bob_row = page.locator("#member-list .member-row[data-username=bob]")
    bob_row.get_by_role("button", name="Remove bob").click()
    expect(page.get_by_role("alert").filter(has_text="bob is no longer in Surveyors.")).to_be_visible()
    second_page.reload()
    expect(second_page.get_by_role("heading", name="404 · Not found")).to_be_visible()
    second_page.goto(live_server + "/")
    expect(second_page.get_by_text("No project yet")).to_be_visible()

    # Deleting the group takes Carol's access too.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete group").click()
    expect(page.get_by_role("alert").filter(has_text="Group Surveyors deleted.")).to_be_visible()
    second_page.context.clear_cookies()
    log_in(second_page, live_server, "carol")
    expect(second_page.get_by_text("No project yet")).to_be_visible()
