"""In a real browser: first-run setup, logging out and in again, and creating a project."""
from playwright.sync_api import expect


def test_first_run_setup_login_and_new_project(page, live_server):
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name="Welcome to Aerie")).to_be_visible()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill("long-password")
    page.get_by_label("Repeat password").fill("long-password")
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("No project yet")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    page.get_by_label("Password").fill("long-password")
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("Name").fill("Brighton beach")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("alert").filter(has_text="created")).to_be_visible()
    expect(page.locator("#project-list .project-name")).to_have_text(["Brighton beach"])
