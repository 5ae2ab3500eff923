"""A throwaway PostgreSQL server from Debian's package (which `make test` installs), in a temporary folder on a
free port: for the scale-out tests and the load benchmark."""
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg

from tests.support.web import free_port


class PostgresUnavailable(RuntimeError):
    """The server could not be found or started; the message says why."""


def postgres_bin():
    """The folder of Debian's PostgreSQL server programs (the newest installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    return os.path.dirname(found[-1])


def as_server_user():
    """Popen arguments that run a command as the postgres account when we are root (the server refuses root).

    The process is the server itself (no runuser in between), so that its pid receives the stop signal.
    """
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


class ThrowawayPostgres:
    """A PostgreSQL server; url is its base URL (no database), new_database() makes one. Stopped by stop()."""

    def __init__(self, max_connections=200):
        bindir = postgres_bin()
        self.folder = tempfile.mkdtemp(prefix="aerie-pg-")  # not under pytest's folder: the postgres user can enter
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        data, port = os.path.join(self.folder, "data"), free_port()
        subprocess.run([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8"], check=True,
                       capture_output=True, cwd=self.folder, **as_server_user())
        # Durability is not what the tests and benchmarks are about: fsync off keeps them fast.
        with open(os.path.join(self.folder, "server.log"), "w") as log:  # the server keeps its own copy
            self.server = subprocess.Popen([
                f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", self.folder, "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", f"max_connections={max_connections}"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, **as_server_user())
        self.url = f"postgresql://postgres@127.0.0.1:{port}"
        self._wait_until_up()

    def _wait_until_up(self, seconds=30):
        """Return once the server accepts connections; stop it and raise when it does not."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                psycopg.connect(f"{self.url}/postgres", connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    with open(os.path.join(self.folder, "server.log")) as server_log:
                        log = server_log.read()
                    self.stop()
                    raise PostgresUnavailable(f"PostgreSQL did not start:\n{log[-3000:]}") from None
                time.sleep(0.2)

    def new_database(self):
        """A fresh, empty database; its SQLAlchemy URL (driver psycopg 3)."""
        name = f"aerie_{os.getpid()}_{time.monotonic_ns()}"
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url.replace('postgresql://', 'postgresql+psycopg://')}/{name}"

    def stop(self):
        """Stop the server ("fast" shutdown: no waiting for idle connections) and remove its folder."""
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
