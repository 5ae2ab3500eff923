"""Fixtures of the scale-out tests: a throwaway PostgreSQL server (Debian's package, which `make test` installs),
a fresh database per test, the app fixture on it, and an external Redis server."""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg
import pytest

from webapp.embedded_redis import start_embedded_redis
from tests.support.apps import running_app
from tests.support.web import free_port


def postgres_bin():
    """The folder of Debian's PostgreSQL server programs (the newest installed), or fail saying how to get them."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    return os.path.dirname(found[-1])


def as_server_user():
    """Popen arguments that run a command as the postgres account when we are root (the server refuses root).

    The process is the server itself (no runuser in between), so that its pid receives the stop signal.
    """
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session, in a temporary folder, on a free port: its base URL (no database)."""
    bindir = postgres_bin()
    folder = tempfile.mkdtemp(prefix="aerie-pg-")  # not under pytest's folder, which the postgres user cannot enter
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
    data, port = os.path.join(folder, "data"), free_port()
    subprocess.run([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8"], check=True,
                   capture_output=True, cwd=folder, **as_server_user())
    # Durability is not what these tests are about: fsync off keeps them fast.
    server = subprocess.Popen([
        f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", folder, "-c", "listen_addresses=127.0.0.1",
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"],
        stdout=open(os.path.join(folder, "server.log"), "w"), stderr=subprocess.STDOUT, cwd=folder, **as_server_user())
    url = f"postgresql://postgres@127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(f"{url}/postgres", connect_timeout=2).close()
            break
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                log = open(os.path.join(folder, "server.log")).read()
                server.kill()
                pytest.fail(f"PostgreSQL did not start:\n{log[-3000:]}")
            time.sleep(0.2)
    yield url
    server.send_signal(signal.SIGINT)  # a "fast" shutdown: no need to wait for idle connections to close
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(postgres):
    """A fresh, empty database on the session's server; its SQLAlchemy URL (driver psycopg 3)."""
    name = f"aerie_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres.replace('postgresql://', 'postgresql+psycopg://')}/{name}"


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
