"""Benchmark of the REST API: latency of the task list of projects with 1, 200 and 2000 tasks, and of a task detail,
through the real server (gunicorn) on loopback with token auth (Authorization: JWT).

Usage: .venv/bin/python bench/api.py [--quick] [--requests N] [--base URL --username U --password P]
Without --base it starts its own Aerie from this checkout on free ports (see bench/common.py) and seeds the tasks
directly in its SQLite database; with --base it creates them through the API (slower) and deletes them at the end.
--quick: fewer requests per figure, a run under a minute.
Prints one figure per line: `name value unit`.
"""
import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone

import requests

from common import EmptyApp, Server, add_server_arguments, api_session, checked, cpu_seconds, figure, percentile

PROJECT_SIZES = (1, 200, 2000)
WARM_UP = 5
# What a seeded task looks like: assets of a completed run, the options a user typically sets.
ASSETS = ["all.zip", "orthophoto.tif", "orthophoto.png", "orthophoto.mbtiles", "georeferenced_model.laz",
          "dsm.tif", "dtm.tif", "textured_model.zip", "cameras.json", "shots.geojson", "report.pdf"]
OPTIONS = [{"name": "dsm", "value": True}, {"name": "orthophoto-resolution", "value": 2},
           {"name": "feature-quality", "value": "high"}]
STATUSES = (10, 20, 30, 40, 40, 40, 40, 50)  # mostly completed, as in a project that has been used for a while


def parse_args():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 requests per figure instead of 200: under a minute")
    parser.add_argument("--requests", type=int, help="timed requests per figure (after a warm-up)")
    add_server_arguments(parser)
    return parser.parse_args()


def seeded_task(project_id, node_id, number, created_at):
    """The columns of one seeded task, varied like the tasks of a real project."""
    status = STATUSES[number % len(STATUSES)]
    completed = status == 40
    return dict(project_id=project_id, processing_node_id=node_id, name=f"Survey flight {number}",
                images_count=random.randint(20, 400), uuid=f"{number:08x}-0000-4000-8000-000000000000",
                processing_time=random.randint(60_000, 7_200_000) if completed else -1, status=status,
                last_error="Not enough images with GPS to georeference." if status == 30 else None,
                options=OPTIONS, created_at=created_at, available_assets=ASSETS if completed else [],
                upload_progress=1.0, running_progress=1.0 if completed else 0.4, size=1234.5 if completed else 0.0)


def seed_database(database_url, counts):
    """Insert the tasks of each project ({project id: count}) and one processing node straight into the database."""
    from sqlalchemy import create_engine, insert
    from sqlalchemy.orm import Session

    from localnode.engine.options import OPTIONS
    from webapp.models import ProcessingNode, Task
    engine = create_engine(database_url)
    with Session(engine) as session:
        # Like the built-in node `make run` registers, with its options (NodeODM's list is about ten times longer).
        node = ProcessingNode(hostname="127.0.0.1", port=3001, label="Built-in node", api_version="2.2.1",
                              engine="aerie", engine_version="1.0", queue_count=0, available_options=OPTIONS)
        session.add(node)
        session.flush()
        start = datetime.now(timezone.utc) - timedelta(days=365)
        rows = [seeded_task(project_id, node.id, number, start + timedelta(hours=number))
                for project_id, count in counts.items() for number in range(count)]
        session.execute(insert(Task), rows)
        session.commit()
    engine.dispose()


def seed_through_api(session, base, counts):
    """Create the tasks of each project as empty (partial) tasks through the API."""
    for project_id, count in counts.items():
        for number in range(count):
            checked(session.post(f"{base}/api/projects/{project_id}/tasks/",
                                 data={"partial": "true", "name": f"Survey flight {number}",
                                       "options": '[{"name": "dsm", "value": true}]'}), 201)


def make_projects(server, session):
    """One project per size with that many tasks; {size: project id}."""
    projects = {size: checked(session.post(f"{server.base}/api/projects/", data={"name": f"Bench {size} tasks"}),
                              201).json()["id"] for size in PROJECT_SIZES}
    counts = {projects[size]: size for size in PROJECT_SIZES}
    started = time.perf_counter()
    if server.stack is not None:
        seed_database(server.stack.database_url, counts)
    else:
        seed_through_api(session, server.base, counts)
    figure("seed_seconds", time.perf_counter() - started, "s")
    return projects


def latencies(server, session, url, count):
    """(milliseconds of each of `count` GETs of url (body read, not parsed), after a warm-up, over one kept-alive
    connection; the server's CPU milliseconds per request or None; the body's size)."""
    for _ in range(WARM_UP):
        # Fresh connections, so that the warm-up reaches every gunicorn worker, not only the kept-alive one.
        checked(session.get(url, headers={"Connection": "close"}))
    checked(session.get(url))
    workers = server.workers()
    cpu_before = cpu_seconds(workers)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = session.get(url)
        _ = response.content
        times.append((time.perf_counter() - started) * 1000)
        checked(response)
    cpu = (cpu_seconds(workers) - cpu_before) * 1000 / count if workers else None
    return times, cpu, len(response.content)


def report(name, times, cpu, size, ceiling=None):
    """Print the percentiles of one series of latencies, the server's CPU time per request and the body size; with
    the ceiling's (times, cpu) the same of the empty app beside them."""
    for label, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        figure(f"{name}_{label}", percentile(times, fraction), "ms")
    if ceiling is not None:
        figure(f"{name}_ceiling_p50", percentile(ceiling[0], 0.5), "ms")
    if cpu is not None:  # on a busy machine, a steadier measure of the server's work than the latency
        figure(f"{name}_server_cpu", cpu, "ms")
        if ceiling is not None:
            figure(f"{name}_ceiling_server_cpu", ceiling[1], "ms")
    figure(f"{name}_bytes", size, "bytes")


def timed_with_ceiling(server, session, url, count, empty):
    """latencies of url, then of the empty app answering as many bytes (the figure's ceiling), one after the other."""
    times, cpu, size = latencies(server, session, url, count)
    with requests.Session() as plain:
        ceiling = latencies(empty, plain, f"{empty.base}/?bytes={size}", count)
    return times, cpu, size, ceiling[:2]


def run(server, count, empty):
    """Seed the projects, time each figure beside its ceiling (the empty app), clean up when the server is not ours."""
    session = api_session(server.base, server.username, server.password)
    projects = make_projects(server, session)
    try:
        figure("requests_per_figure", count, "requests")
        for size in PROJECT_SIZES:
            url = f"{server.base}/api/projects/{projects[size]}/tasks/"
            listed = checked(session.get(url)).json()
            if len(listed) != size:
                raise RuntimeError(f"the project of {size} tasks lists {len(listed)}")
            report(f"task_list_{size}", *timed_with_ceiling(server, session, url, count, empty))
        some_task = listed[len(listed) // 2]["id"]
        url = f"{server.base}/api/projects/{projects[PROJECT_SIZES[-1]]}/tasks/{some_task}/"
        report("task_detail", *timed_with_ceiling(server, session, url, count, empty))
    finally:
        if server.stack is None:  # someone else's server: leave it as it was
            for project_id in projects.values():
                session.delete(f"{server.base}/api/projects/{project_id}/")


def main():
    """Run the benchmark."""
    args = parse_args()
    random.seed(1)
    count = args.requests or (20 if args.quick else 200)
    with Server(args) as server, EmptyApp(args.web_workers) as empty:
        run(server, count, empty)


if __name__ == "__main__":
    sys.exit(main())
