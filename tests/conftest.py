"""Shared pytest fixtures: a real Redis server, an app on a fresh SQLite database, clients, a live server, a browser."""
import threading

import pytest
from werkzeug.serving import make_server

from webapp.embedded_redis import start_embedded_redis
from tests.support.apps import running_app
from tests.support.web import csrf_token_of, free_port
from tests.support.factories import add_user


# Fixtures whose tests are slow wherever they are: the browser, real worker processes, a whole stack.
SLOW_FIXTURES = {"browser", "processes", "stack"}


def pytest_collection_modifyitems(items):
    """Mark `slow` the tests that use a slow fixture (modules that run the engine mark themselves)."""
    for item in items:
        if SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis server (the embedded one) for the whole test session."""
    port = free_port()
    process = start_embedded_redis(tmp_path_factory.mktemp("redis"), port)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def app(tmp_path, redis_url):
    """An app on a fresh SQLite database and an emptied Redis."""
    with running_app(tmp_path / "instance", redis_url) as application:
        yield application


@pytest.fixture
def client(app):
    """A test client of the app (CSRF protection on, as in production)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for the app's CLI commands."""
    return app.test_cli_runner()


@pytest.fixture
def admin(app):
    """The administrator account (password 'admin-password')."""
    return add_user("admin", admin=True)


@pytest.fixture
def make_user(app):
    """A factory of ordinary users (password '<name>-password')."""
    return add_user


@pytest.fixture
def login(client):
    """Log the test client in as a user: login(username, password)."""
    def do_login(username, password):
        token = csrf_token_of(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, "login failed"
        return response
    return do_login


@pytest.fixture
def live_server(app):
    """The app served over real HTTP in a thread; yields its base URL (no trailing slash)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


CHROMIUM = "/usr/bin/chromium"
# Flags for a headless Chromium on a machine with no network but loopback. WebGL (the 3D page) runs on
# SwiftShader, Chromium's software renderer, which newer versions use only when asked to.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--enable-unsafe-swiftshader"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, headless, for the whole session."""
    from pathlib import Path
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _watched_page(browser):
    """A page in a new browser context (own cookies), failing the test on any JavaScript error."""
    context = browser.new_context()
    new_page = context.new_page()
    errors = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page(browser):
    """A fresh browser page that fails the test on any JavaScript error."""
    yield from _watched_page(browser)


@pytest.fixture
def second_page(browser):
    """A page in a second browser context: another user's own cookies."""
    yield from _watched_page(browser)
