"""In a real browser: tags set on a project's settings page show on the dashboard, where a tag (or `#tag` typed in
the search box, with text) finds the projects that have it; a tag with odd characters gets a message."""
from playwright.sync_api import expect

from tests.support.browser import log_in
from tests.support.factories import add_project, add_user


def test_tags_set_in_settings_show_on_the_dashboard_and_search_it(page, live_server):
    olga = add_user("olga")
    add_project(olga, name="Farm", tags="ndvi")
    add_project(olga, name="Quarry west")
    add_project(olga, name="Quarry east")
    log_in(page, live_server, "olga")
    page.get_by_role("link", name="Settings of Quarry east").click()
    page.get_by_label("Tags", exact=True).fill("survey <north>")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("“<north>” is not a valid tag")).to_be_visible()
    page.get_by_label("Tags", exact=True).fill("survey north")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="Project saved.")).to_be_visible()

    page.goto(live_server + "/")
    tags = page.get_by_role("list", name="Tags of Quarry east")
    expect(tags.get_by_role("link")).to_have_text(["#survey", "#north"])
    tags.get_by_role("link", name="#survey").click()
    expect(page.locator("#project-list .project-name")).to_have_text(["Quarry east"])
    expect(page.get_by_label("Search projects")).to_have_value("#survey")
    page.screenshot(path="/tmp/aerie-project-tags.png", full_page=True)

    page.get_by_label("Search projects").fill("#ndvi quarry")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No project matches “#ndvi quarry”.")).to_be_visible()
    page.get_by_label("Search projects").fill("quarry")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#project-list .project-name")).to_have_text(["Quarry east", "Quarry west"])
