"""Flask CLI commands for scripted setups and for running the background processes."""
import logging
import time

import click
import redis
from flask import current_app
from rq import SimpleWorker

from webapp import queue
from webapp.services import accounts, nodes
from webapp.services.errors import ServiceError

log = logging.getLogger(__name__)


def _fail(error):
    """Stop a command with the service's message instead of a traceback."""
    details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.field_errors.items())
    raise click.ClickException(error.message or details)


@click.command("create-user")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default="")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
def create_user_command(username, password, email, admin):
    """Create a user account."""
    try:
        user = accounts.create_user(username, password, email=email, is_admin=admin)
    except ServiceError as error:
        _fail(error)
    click.echo(f"Created {'administrator' if user.is_admin else 'user'} {user.username}.")


@click.command("add-node")
@click.argument("hostname")
@click.argument("port", type=int)
@click.option("--token", default="", help="The node's access token, if it has one.")
@click.option("--label", default="", help="A name to show instead of host:port.")
def add_node_command(hostname, port, token, label):
    """Register a processing node (NodeODM API) and query its info."""
    try:
        node = nodes.add_node(hostname, port, token=token, label=label)
    except ServiceError as error:
        _fail(error)
    state = "online" if nodes.is_online(node) else "not answering yet"
    click.echo(f"Processing node {node.id} {node.display_label()} added ({state}).")


REDIS_RETRY_SECONDS = 2.0  # wait before starting a new worker after Redis went away


class _Worker(SimpleWorker):
    """RQ's SimpleWorker, noting whether it stops because it was asked to (SIGTERM, Ctrl-C)."""

    asked_to_stop = False

    def request_stop(self, signum, frame):
        """Remember the request, then stop as RQ does (warm shutdown)."""
        self.asked_to_stop = True
        super().request_stop(signum, frame)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst):
    """Run an RQ worker on Aerie's queue (jobs run in this process, in the app's context).

    RQ's worker quits when Redis goes away under a running job (a restart, a failover): it cannot record the job's
    end. A Redis outage must not end the process (run-all would stop everything), so a new worker starts once Redis
    can be reached again; the reconciler finds the interrupted work in the database (tests/faults shows it).
    """
    while True:
        worker = None
        try:
            worker = _Worker([queue.job_queue()], connection=queue.redis_connection())  # talks to Redis at once
            worker.work(burst=burst, logging_level="INFO")
        except redis.RedisError as error:  # Redis still away: at the start, or in RQ's own clean-up
            if burst:
                raise
            log.warning("worker lost Redis: %s", error)
        if worker is not None and (burst or worker.asked_to_stop):
            return
        log.warning("worker stopped without being asked to (Redis unreachable?); starting a new one in %g s",
                    REDIS_RETRY_SECONDS)
        time.sleep(REDIS_RETRY_SECONDS)


@click.command("scheduler")
def scheduler_command():
    """Queue the reconciler every SCHEDULER_INTERVAL seconds, for ever."""
    interval = current_app.config["SCHEDULER_INTERVAL"]
    click.echo(f"Scheduler: reconciling every {interval:g} s.")
    while True:
        try:
            queue.enqueue(queue.RECONCILE, job_id="reconcile")
        except redis.RedisError as error:  # Redis restarting: try again next round
            log.warning("scheduler could not reach Redis: %s", error)
        time.sleep(interval)


@click.command("prepare-3d")
@click.option("--again", is_flag=True, help="Also remake the 3D files of the tasks that have them.")
def prepare_3d_command(again):
    """Make the 3D page's files of completed tasks extracted before Aerie had a 3D page."""
    from webapp.services import assets
    done = assets.prepare_3d_of_completed_tasks(again)
    for task_id, shown in done:
        click.echo(f"task {task_id}: {'3D view ready' if shown else 'nothing to show in 3D'}")
    click.echo(f"{len(done)} task(s) prepared.")


@click.command("prepare-map-tiles")
def prepare_map_tiles_command():
    """Make the map's copy of the rasters of completed tasks that lack it (extracted before Aerie made them, or
    imported)."""
    from webapp import storage
    from webapp.models import Task, TaskStatus
    from webapp.services import tile_pyramids, tiles
    prepared = 0
    for task in Task.query.filter(Task.status == TaskStatus.COMPLETED).order_by(Task.id).all():
        made = tile_pyramids.make_pyramids(storage.assets_dir(task.project_id, task.id), tiles.LAYER_FILES,
                                           only_missing=True)
        if made:
            click.echo(f"task {task.id}: {', '.join(made)}")
            prepared += 1
    click.echo(f"{prepared} task(s) prepared.")


@click.command("run-all")
def run_all_command():
    """Start everything Aerie needs (Redis, node, workers, scheduler, web) and stop it all on Ctrl-C."""
    from webapp.launcher import run_all
    raise SystemExit(run_all(current_app._get_current_object()))


def register_commands(app):
    """Add Aerie's commands to the flask CLI."""
    for command in (create_user_command, add_node_command, worker_command, scheduler_command, run_all_command,
                    prepare_3d_command, prepare_map_tiles_command):
        app.cli.add_command(command)
