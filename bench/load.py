"""Load benchmark: many concurrent clients on loopback against the real server (gunicorn) for a fixed time.

Client kinds, each a thread looping without pause: dashboards (project list, the project's task list, one task),
task lists (the task list of a project of 200 tasks), tiles (orthophoto tiles of a completed task at random) and
uploads (an empty task, two photos sent in chunks as the web page does, commit, delete).
Without --base it starts its own Aerie from this checkout on free ports (bench/common.py: gunicorn, embedded Redis,
SQLite, no worker) and seeds a completed task with a synthetic orthophoto; with --base it uses a running Aerie and
leaves the tile clients out (no known orthophoto there).

Usage: .venv/bin/python bench/load.py [--quick] [--seconds S] [--dashboards N] [--lists N] [--tiles N]
       [--uploads N] [--database-url URL | --postgres]
       [--base URL --username U --password P --server-pid PID --server-log FILE]
--quick: 15 s of load with fewer clients (a run under a minute). --postgres: the server started uses a throwaway
PostgreSQL server (Debian's package) instead of SQLite.
Prints one figure per line: `name value unit`: requests per second, latency percentiles (ms) and errors per kind
and in total, each error by cause (`{kind}_errors_status_500`, `{kind}_errors_ReadTimeout`...), the exceptions
the server logged (`server_exception_<class>_<message>`; their routes go to stderr), and the gunicorn
processes' memory (RSS) before, at peak and after.
"""
import argparse
import io
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict

import requests

from common import (MB, MemorySampler, Server, add_server_arguments, api_session, checked, figure, percentile)

TASKS_IN_LIST = 200
CHUNK_BYTES = 256 * 1024
PHOTO_PIXELS = 900  # a noisy JPEG of about 0.5 MB
ORTHOPHOTO_PIXELS = 2048


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="15 s with fewer clients: a run under a minute")
    parser.add_argument("--seconds", type=float, help="how long the load lasts (default 60, quick 15)")
    parser.add_argument("--dashboards", type=int, help="dashboard clients (default 8, quick 4)")
    parser.add_argument("--lists", type=int, help="task-list clients (default 4, quick 2)")
    parser.add_argument("--tiles", type=int, help="tile clients (default 4, quick 2)")
    parser.add_argument("--uploads", type=int, help="upload clients (default 2, quick 1)")
    parser.add_argument("--server-log", help="with --base: the server's log, to report the exceptions it logged")
    add_server_arguments(parser)
    args = parser.parse_args()
    defaults = dict(seconds=(15, 60), dashboards=(4, 8), lists=(2, 4), tiles=(2, 4), uploads=(1, 2))
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


# --- what the clients need --------------------------------------------------------------------------------------

def photo_bytes(seed):
    """A noisy JPEG photo (so that the server's image check accepts it)."""
    import numpy
    from PIL import Image
    pixels = numpy.random.default_rng(seed).integers(0, 255, (PHOTO_PIXELS, PHOTO_PIXELS, 3), dtype=numpy.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def seed_orthophoto_task(server, project_id):
    """A completed task holding a synthetic orthophoto, written straight into the stack's database and media."""
    from sqlalchemy import create_engine, insert
    from tiles import write_orthophoto
    from webapp.models import Task
    engine = create_engine(server.stack.database_url)
    with engine.begin() as connection:
        task_id = connection.execute(insert(Task).values(
            project_id=project_id, name="Orthophoto", status=40, available_assets=["orthophoto.tif"],
            options=[], uuid="")).inserted_primary_key[0]
    engine.dispose()
    target = (server.stack.instance / "media" / "project" / str(project_id) / "task" / str(task_id) / "assets"
              / "odm_orthophoto" / "odm_orthophoto.tif")
    write_orthophoto(target, ORTHOPHOTO_PIXELS)
    return task_id


def prepare(server, session, with_tiles):
    """A project with TASKS_IN_LIST empty tasks (and a completed orthophoto task); (project id, task ids, tiles)."""
    project = checked(session.post(f"{server.base}/api/projects/", data={"name": "Load benchmark"}), 201).json()["id"]
    for number in range(TASKS_IN_LIST):
        checked(session.post(f"{server.base}/api/projects/{project}/tasks/",
                             data={"partial": "true", "name": f"Flight {number}"}), 201)
    tiles = []
    if with_tiles:
        task_id = seed_orthophoto_task(server, project)
        tilejson = checked(session.get(f"{server.base}/api/projects/{project}/tasks/{task_id}/orthophoto/tiles.json"))
        tiles = tile_urls(tilejson.json())
    tasks = [t["id"] for t in checked(session.get(f"{server.base}/api/projects/{project}/tasks/")).json()]
    return project, tasks, tiles


def tile_urls(tilejson, levels=3):
    """The URLs of every tile over the raster's bounds at its few highest native zoom levels."""
    import morecantile
    tms = morecantile.tms.get("WebMercatorQuad")
    top = tilejson["maxzoom"] - 3  # TileJSON widens the native range by 3 levels each way
    urls = []
    for zoom in range(top - levels + 1, top + 1):
        for tile in tms.tiles(*tilejson["bounds"], [zoom]):
            urls.append(tilejson["tiles"][0].format(z=tile.z, x=tile.x, y=tile.y))
    return urls


# --- the clients ------------------------------------------------------------------------------------------------

class Results:
    """Latencies, and errors by cause, per client kind; shared by the client threads."""

    def __init__(self):
        self.times = defaultdict(list)
        self.errors = defaultdict(Counter)  # kind -> {"status_500" or an exception's class: count}
        self.examples = {}  # (kind, cause) -> the first error's request and answer (or exception message)
        self.resent = Counter()  # kind -> requests sent again after a kept-alive connection closed under them
        self.lock = threading.Lock()

    def timed(self, kind, call, expected=(200,)):
        """Run call() (a request), recording its latency, or an error and its cause when its status is not expected."""
        started = time.perf_counter()
        try:
            response = self._send(kind, call)
            cause = None if response.status_code in expected else f"status_{response.status_code}"
            example = cause and (f"{response.request.method} {response.request.path_url}: "
                                 f"{response.text[:200].strip()}")
        except Exception as error:  # noqa: BLE001 (any failure of a request is an error of the run, counted)
            response, cause, example = None, type(error).__name__, str(error)[:300]
        elapsed = time.perf_counter() - started
        with self.lock:
            if cause is None:
                self.times[kind].append(elapsed)
            else:
                self.errors[kind][cause] += 1
                self.examples.setdefault((kind, cause), example)
        return response if cause is None else None

    def _send(self, kind, call):
        """call(), sent once more when the server closed the kept-alive connection as it went out, as browsers do.

        gunicorn closes a connection idle for its keep-alive (2 s); a client thread of this loaded process that
        sends its next request at that moment sees "Connection aborted" without an answer: the request was not
        read, so sending it again is safe. Counted in `{kind}_resent`.
        """
        try:
            return call()
        except requests.ConnectionError as error:
            if "Connection aborted" not in str(error):
                raise
        with self.lock:
            self.resent[kind] += 1
        return call()


def dashboard(session, base, project, tasks, results, stop, rng):
    """Poll like an open dashboard: the project list, the project's tasks, one task."""
    while not stop.is_set():
        results.timed("dashboard", lambda: session.get(f"{base}/api/projects/", timeout=60))
        results.timed("dashboard", lambda: session.get(f"{base}/api/projects/{project}/tasks/?ordering=-created_at",
                                                       timeout=60))
        results.timed("dashboard", lambda: session.get(f"{base}/api/projects/{project}/tasks/{rng.choice(tasks)}/",
                                                       timeout=60))


def task_list(session, base, project, tasks, results, stop, rng):
    """Fetch the project's task list again and again."""
    while not stop.is_set():
        results.timed("task_list", lambda: session.get(f"{base}/api/projects/{project}/tasks/", timeout=60))


def tile(session, base, urls, results, stop, rng):
    """Fetch random tiles of the orthophoto (404 is a valid answer at the raster's edge)."""
    while not stop.is_set():
        url = rng.choice(urls)
        results.timed("tile", lambda: session.get(url if url.startswith("http") else base + url, timeout=60),
                      expected=(200, 404))


def upload(session, base, project, photos, results, stop, rng):
    """An empty task, its photos in chunks, commit, then delete it (the database stays the same size)."""
    while not stop.is_set():
        created = results.timed("upload", lambda: session.post(f"{base}/api/projects/{project}/tasks/",
                                                               data={"partial": "true"}, timeout=60), (201,))
        if created is None:
            continue
        task_url = f"{base}/api/projects/{project}/tasks/{created.json()['id']}/"
        for number, data in enumerate(photos):
            count = -(-len(data) // CHUNK_BYTES)
            upload_id = f"load-{rng.getrandbits(64):x}"
            for index in range(count):
                fields = {"dzuuid": upload_id, "dzchunkindex": index, "dztotalchunkcount": count,
                          "dzchunkbyteoffset": index * CHUNK_BYTES, "dztotalfilesize": len(data)}
                block = data[index * CHUNK_BYTES:(index + 1) * CHUNK_BYTES]
                results.timed("upload", lambda: session.post(
                    f"{task_url}upload/", data=fields, files={"images": (f"IMG_{number}.JPG", block, "image/jpeg")},
                    timeout=60))
        results.timed("upload", lambda: session.post(f"{task_url}commit/", timeout=60))
        results.timed("upload", lambda: session.delete(task_url, timeout=60), (204,))


# --- the run ----------------------------------------------------------------------------------------------------

def run(args, server):
    """Prepare, start every client for args.seconds, and print the figures."""
    session = api_session(server.base, server.username, server.password)
    with_tiles = server.stack is not None and args.tiles > 0
    project, tasks, urls = prepare(server, session, with_tiles)
    photos = [photo_bytes(seed) for seed in range(2)]
    results, stop = Results(), threading.Event()
    clients = []
    for number in range(args.dashboards):
        clients.append((dashboard, (project, tasks)))
    for number in range(args.lists):
        clients.append((task_list, (project, tasks)))
    for number in range(args.tiles if with_tiles else 0):
        clients.append((tile, (urls,)))
    for number in range(args.uploads):
        clients.append((upload, (project, photos)))
    threads = []
    for number, (client, extra) in enumerate(clients):
        own = api_session(server.base, server.username, server.password)  # each client its own connection
        threads.append(threading.Thread(target=client, args=(own, server.base, *extra, results, stop,
                                                             random.Random(number)), daemon=True))
    workers = server.workers()
    with MemorySampler([server.master, *workers] if server.master else []) as memory:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        stop.wait(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.perf_counter() - started
    report(results, elapsed, len(clients))
    log_path = server.stack.web_log if server.stack is not None else args.server_log
    if log_path:
        report_server_exceptions(logged_exceptions(open(log_path, errors="replace").read()))
    if server.master is not None:
        figure("server_rss_before", memory.before / MB, "MB")
        figure("server_rss_peak", memory.peak / MB, "MB")
        figure("server_rss_after", memory._rss() / MB, "MB")


def report(results, elapsed, clients):
    """Per kind and in total: requests per second, latency percentiles, errors."""
    figure("clients", clients, "threads")
    figure("duration", elapsed, "s")
    every = []
    for kind in ("dashboard", "task_list", "tile", "upload"):
        times = results.times.get(kind, [])
        if not times and not results.errors.get(kind):
            continue
        every += times
        figure(f"{kind}_requests_per_second", len(times) / elapsed, "req/s")
        if times:
            for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
                figure(f"{kind}_latency_{name}", percentile(times, fraction) * 1000, "ms")
        errors = results.errors.get(kind, Counter())
        figure(f"{kind}_resent", results.resent[kind], "requests")
        figure(f"{kind}_errors", sum(errors.values()), "requests")
        for cause, count in sorted(errors.items()):
            figure(f"{kind}_errors_{cause}", count, "requests")
            print(f"# {kind} {cause}, first: {results.examples[kind, cause]}", file=sys.stderr, flush=True)
    figure("total_requests_per_second", len(every) / elapsed, "req/s")
    if every:
        figure("total_latency_p50", percentile(every, 0.5) * 1000, "ms")
        figure("total_latency_p99", percentile(every, 0.99) * 1000, "ms")
    figure("total_errors", sum(sum(errors.values()) for errors in results.errors.values()), "requests")


# --- what the server logged -------------------------------------------------------------------------------------

# A log record of webapp/errors.py's handler: "... ERROR webapp.errors: unhandled error on GET /api/...".
LOGGED_REQUEST = re.compile(r" (?:ERROR|CRITICAL) [\w.]+: unhandled error on (\w+) (\S+)")
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)): ?(.*)$")
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def logged_exceptions(text):
    """(exception, route) of every unhandled error in a server log; the exception is its last "Class: message"
    line (the one that ended the traceback), the route has its numbers replaced by {id}."""
    found, route, exception = [], None, None
    for line in text.splitlines() + ["0000-00-00 00:00:00 end"]:
        if RECORD_START.match(line):
            if route is not None:
                found.append((exception or "(no traceback)", route))
            request = LOGGED_REQUEST.search(line)
            route = _route(*request.groups()) if request else None
            exception = None
        elif route is not None and (match := EXCEPTION_LINE.match(line)):
            exception = f"{match.group(1)}: {match.group(2)[:160]}"
    return found


def _route(method, path):
    """A request's method and path, its numbers replaced by {id} (so that requests to one route count together)."""
    return method + " " + re.sub(r"/\d+", "/{id}", path)


def _figure_name(exception):
    """A figure name for "module.Class: message": "Class_message", words joined by _, at most 80 characters."""
    cls, _, message = exception.partition(":")
    return re.sub(r"\W+", "_", f"{cls.split('.')[-1]} {message}").strip("_")[:80]


def report_server_exceptions(found):
    """A figure per exception logged (class and message in its name), and where each came from on stderr."""
    figure("server_exceptions", len(found), "errors")
    by_exception = defaultdict(Counter)
    for exception, route in found:
        by_exception[exception][route] += 1
    for exception, routes in sorted(by_exception.items(), key=lambda item: -sum(item[1].values())):
        figure(f"server_exception_{_figure_name(exception)}", sum(routes.values()), "errors")
        where = ", ".join(f"{route} ({count})" for route, count in routes.most_common())
        print(f"# {sum(routes.values())} x {exception}\n#   from {where}", file=sys.stderr, flush=True)


def main():
    """Start (or reach) the server and run the load."""
    args = parse_args()
    with Server(args) as server:
        run(args, server)


if __name__ == "__main__":
    main()
