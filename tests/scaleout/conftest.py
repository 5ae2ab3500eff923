"""Fixtures of the scale-out tests: a throwaway PostgreSQL server (Debian's package, which `make test` installs),
a fresh database per test, the app fixture on it, and an external Redis server."""
import pytest

from webapp.embedded_redis import start_embedded_redis
from tests.support.apps import running_app
from tests.support.postgres import PostgresUnavailable, ThrowawayPostgres
from tests.support.web import free_port


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session, in a temporary folder, on a free port."""
    try:
        server = ThrowawayPostgres()
    except PostgresUnavailable as error:
        pytest.fail(str(error))
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres):
    """A fresh, empty database on the session's server; its SQLAlchemy URL (driver psycopg 3)."""
    return postgres.new_database()


@pytest.fixture
def app(tmp_path, redis_url, database_url):
    """The app fixture of tests/conftest.py, on a PostgreSQL database instead of SQLite."""
    with running_app(tmp_path / "instance", redis_url, SQLALCHEMY_DATABASE_URI=database_url) as application:
        yield application


@pytest.fixture
def external_redis(tmp_path):
    """A Redis server of its own (not the stack's embedded one), as a production setup points REDIS_URL at."""
    port = free_port()
    process = start_embedded_redis(tmp_path / "redis", port)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
