"""The task queue: at most `parallel` engines at once, within the memory budget, and each task's life (commit,
run, cancel, restart, remove)."""
import json
import logging
import shutil
import threading
import uuid as uuidlib
from pathlib import Path

from localnode.engine_process import EngineProcess, exit_message, kill_orphan_engine, parse_line
from localnode.memory import MemoryBudget, gigabytes, task_need
from localnode.results import BuildCanceled, build_zip
from localnode.taskoptions import engine_options
from localnode.tasks import (CANCELED, COMPLETED, FAILED, FINISHED, QUEUED, RUNNING, Task, load_tasks,
                             now_ms)
from localnode.webhook import send_webhook

log = logging.getLogger(__name__)
STATUS_WORDS = {QUEUED: "queued", RUNNING: "running", FAILED: "failed", COMPLETED: "completed",
                CANCELED: "canceled"}
MIN_IMAGES = 2
KILL_WAIT_SECONDS = 10
ABANDONED_UPLOAD_MS = 24 * 3600 * 1000  # an upload never committed within a day is dropped at the next start
MEMORY_RECHECK_SECONDS = 5  # how often a task waiting for memory looks again (other programs free memory too)


class TaskError(Exception):
    """A request about a task that cannot be done; str() is the message for the client."""


class TaskQueue:
    """Every task of the node, kept on disk under data_dir/tasks, and the engines running them."""

    def __init__(self, data_dir, parallel=1, memory_limit=None):
        """Load the saved tasks, queue again those that were running, and start what can start.

        memory_limit: the bytes the node's tasks may use together (None: the machine's memory).
        """
        self.tasks_dir = Path(data_dir) / "tasks"
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        self.parallel = max(1, int(parallel))
        self._lock = threading.RLock()
        self._tasks = load_tasks(self.tasks_dir)
        self._engines = {}  # uuid -> EngineProcess of the running tasks
        self._watchers = {}  # uuid -> the thread following the task's latest run
        self._closing = False
        self.memory = MemoryBudget(memory_limit)
        self._needs = {}  # uuid -> (bytes, photos, megapixels) of a queued or running task, as estimated
        self._waiting = {}  # uuid -> how many tasks ran when it last said it waits for memory
        self._recheck = None  # the timer that looks again while a task waits for memory
        with self._lock:
            for task in list(self._tasks.values()):
                if task.committed and task.status == RUNNING:
                    self._requeue_interrupted(task)
                elif not task.committed and now_ms() - task.last_change_ms() > ABANDONED_UPLOAD_MS:
                    log.info("dropping task %s: its upload was never committed", task.uuid)
                    self.discard(task)
            self._schedule()

    # --- looking up ---------------------------------------------------------------------------------------

    def get(self, uuid):
        """The committed task with this uuid, or TaskError."""
        task = self._tasks.get(uuid)
        if task is None or not task.committed:
            raise TaskError("Invalid uuid (not found)")
        return task

    def get_uploading(self, uuid):
        """The task with this uuid still receiving its images (between init and commit), or TaskError."""
        task = self._tasks.get(uuid)
        if task is None:
            raise TaskError("Invalid uuid (not found)")
        if task.committed:
            raise TaskError(f"Task {uuid} is already committed: it takes no more images.")
        return task

    def tasks(self):
        """The committed tasks, oldest first."""
        with self._lock:
            return sorted((t for t in self._tasks.values() if t.committed), key=lambda t: t.date_created)

    def active_count(self):
        """How many tasks are queued or running."""
        return sum(1 for task in self.tasks() if task.status in (QUEUED, RUNNING))

    def exists(self, uuid):
        """Whether any task (committed or not) has this uuid."""
        return uuid in self._tasks

    # --- a task's life ------------------------------------------------------------------------------------

    def create(self, name, options, webhook=None, outputs=(), date_created=None, uuid=None):
        """A new task folder with its saved state, ready to receive images."""
        with self._lock:
            uuid = uuid or str(uuidlib.uuid4())
            if uuid in self._tasks:
                raise TaskError(f"A task with uuid {uuid} already exists.")
            folder = self.tasks_dir / uuid
            (folder / "images").mkdir(parents=True)
            task = Task(folder, uuid, name, options, webhook, outputs, date_created)
            task.save()
            self._tasks[uuid] = task
            return task

    def commit(self, task):
        """Queue a task whose images are uploaded; TaskError (and nothing lost) when it has too few images."""
        need = task_need(task.images_dir, task.options)  # reads every photo's header: not while holding the lock
        with self._lock:
            images = task.photos_count()
            if images < MIN_IMAGES:
                raise TaskError(f"Need at least {MIN_IMAGES} images (this task has {images}).")
            self._needs[task.uuid] = need
            task.committed = True
            task.queued_at = now_ms()
            task.console.path.touch()
            task.save()
            self._schedule()

    def discard(self, task):
        """Forget a task that was never committed and delete its folder."""
        with self._lock:
            self._tasks.pop(task.uuid, None)
        shutil.rmtree(task.folder, ignore_errors=True)

    def cancel(self, uuid):
        """Cancel a queued or running task at once (its engine is killed); it stays canceled."""
        with self._lock:
            task = self.get(uuid)
            if task.status == CANCELED:
                return
            if task.status in (FAILED, COMPLETED):
                raise TaskError(f"Task {uuid} is already {STATUS_WORDS[task.status]}; only queued or running "
                                f"tasks can be canceled.")
            task.processing_time = task.elapsed_ms() if task.started_at else -1
            self._end(task, CANCELED, None)
            engine = self._engines.pop(uuid, None)
            info = task.info()
            self._schedule()
        self._stop(engine)
        send_webhook(task.webhook, info)

    def remove(self, uuid):
        """Cancel a task, delete its folder and forget it."""
        with self._lock:
            task = self.get(uuid)
            task.run_id = None
            del self._tasks[uuid]
            engine = self._engines.pop(uuid, None)
            watcher = self._watchers.pop(uuid, None)
            self._needs.pop(uuid, None)
            self._waiting.pop(uuid, None)
            self._schedule()
        self._stop(engine)
        if watcher is not None:
            watcher.join(KILL_WAIT_SECONDS)  # it may be writing all.zip: let it stop before deleting the folder
        shutil.rmtree(task.folder, ignore_errors=True)

    def restart(self, uuid, options=None):
        """Queue a finished task again, with new options if given; earlier results are kept for rerun-from."""
        with self._lock:
            task = self.get(uuid)
            if task.status not in FINISHED:
                raise TaskError(f"Task {uuid} is {STATUS_WORDS[task.status]}; only failed, completed or canceled "
                                f"tasks can be restarted.")
            if options is not None:
                task.options = options
            task.status, task.error_message, task.progress = QUEUED, None, 0.0
            task.processing_time, task.started_at, task.queued_at = -1, None, now_ms()
            task.zip_path.unlink(missing_ok=True)
            task.console.reset()
            task.save()
            self._schedule()

    def shutdown(self):
        """Stop every engine because the node is stopping; their tasks stay RUNNING on disk, so run again later."""
        with self._lock:
            self._closing = True
            engines = list(self._engines.values())
            if self._recheck is not None:
                self._recheck.cancel()
        for engine in engines:
            self._stop(engine)

    # --- running ------------------------------------------------------------------------------------------

    def _schedule(self):
        """Start queued tasks, oldest first, while fewer than `parallel` run and memory allows (called with the
        lock held). The oldest waits for memory before any younger starts, so a large task is never starved."""
        if self._closing:
            return
        while True:
            committed = [t for t in self._tasks.values() if t.committed]
            waiting = [t for t in committed if t.status == QUEUED]
            running = [t for t in committed if t.status == RUNNING]
            if not waiting or len(running) >= self.parallel:
                return
            task = min(waiting, key=lambda t: t.queued_at or 0)
            admission = self._admit(task, running)
            if admission == "wait":
                return
            if admission == "start":
                self._start(task)

    def _admit(self, task, running):
        """"start" when the task's memory need fits now; "wait" (said in its console, looked at again soon)
        when it must wait for running tasks or other programs; "refused" (the task failed) when it never can."""
        need, photos, megapixels = self._need(task)
        if need > self.memory.limit:
            task.processing_time = 0
            self._end(task, FAILED, f"Not enough memory: this task needs about {gigabytes(need)} ({photos} photos, "
                                    f"{megapixels:.0f} megapixels as processed), more than the "
                                    f"{gigabytes(self.memory.limit)} this node may use. Lower resize-to, or "
                                    f"process the photos in smaller parts.")
            send_webhook(task.webhook, task.info())
            return "refused"
        free = self.memory.free([(self._need(t)[0], t.engine_pid) for t in running])
        if need <= free:
            self._waiting.pop(task.uuid, None)
            log.info("task %s: starting; it needs about %s of memory, %s free", task.uuid, gigabytes(need),
                     gigabytes(free))
            return "start"
        if self._waiting.get(task.uuid) != len(running):  # said again only when that changes
            task.console.append(f"Waiting for memory: needs ~{gigabytes(need)}, {gigabytes(max(0, free))} free "
                                f"({len(running)} task{'' if len(running) == 1 else 's'} running)")
            self._waiting[task.uuid] = len(running)
        self._recheck_later()
        return "wait"

    def _need(self, task):
        """(bytes, photos, megapixels) the task is expected to need, estimated once per run."""
        if task.uuid not in self._needs:
            self._needs[task.uuid] = task_need(task.images_dir, task.options)
        return self._needs[task.uuid]

    def _recheck_later(self):
        """Schedule again in a few seconds: memory may be freed by other programs, not only by our tasks."""
        if self._recheck is None:
            self._recheck = threading.Timer(MEMORY_RECHECK_SECONDS, self._recheck_now)
            self._recheck.daemon = True
            self._recheck.start()

    def _recheck_now(self):
        """The timer's turn: look at the queue again."""
        with self._lock:
            self._recheck = None
            self._schedule()

    def _start(self, task):
        """Write options.json and start the engine on the task (called with the lock held)."""
        run_id = uuidlib.uuid4().hex
        task.run_id, task.status, task.started_at = run_id, RUNNING, now_ms()
        task.progress, task.processing_time, task.error_message = 0.0, -1, None
        try:
            options = engine_options(task.options)
            (task.folder / "options.json").write_text(json.dumps(options, indent=1), encoding="utf-8")
            engine = EngineProcess(task.folder)
        except OSError as problem:
            task.processing_time = 0
            self._end(task, FAILED, f"The node could not start the engine: {problem}")
            send_webhook(task.webhook, task.info())
            return
        task.engine_pid = engine.pid
        task.save()
        self._engines[task.uuid] = engine
        watcher = threading.Thread(target=self._watch, args=(task, run_id, engine), name=f"engine-{task.uuid}",
                                   daemon=True)
        self._watchers[task.uuid] = watcher
        watcher.start()

    def _watch(self, task, run_id, engine):
        """Follow one engine run to its end: console, progress, then the outcome (in its own thread)."""
        try:
            error = self._follow_output(task, run_id, engine)
            returncode = engine.wait()
            if returncode != 0:
                self._finish(task, run_id, FAILED, error or exit_message(returncode))
                return
            build_zip(task, run_id, self._is_current(task))
            self._finish(task, run_id, COMPLETED, None)
        except BuildCanceled:
            pass
        except Exception as problem:  # a bug or a full disk must fail this task only, with a message
            log.exception("task %s: the node failed while following its engine", task.uuid)
            engine.kill()
            self._finish(task, run_id, FAILED, f"The node failed while finishing the task: {problem}")

    def _follow_output(self, task, run_id, engine):
        """Copy the engine's lines into the console and progress; the last @@error message, if any."""
        error = None
        for line in engine.lines():
            if task.run_id != run_id:
                continue  # canceled or removed: read to the end without touching the task
            kind, value = parse_line(line)
            if kind == "progress":
                self._set_progress(task, run_id, value)
            else:
                error = value if kind == "error" else error
                task.console.append(f"Error: {value}" if kind == "error" else value)
        return error

    def _set_progress(self, task, run_id, progress):
        """Record the progress of the current run."""
        with self._lock:
            if task.run_id == run_id and task.uuid in self._tasks:
                task.progress = progress
                task.save()

    def _is_current(self, task):
        """A check that a run still owns the task (for the archive builder)."""
        return lambda run_id: task.run_id == run_id and not self._closing

    def _finish(self, task, run_id, status, message):
        """End a run with its outcome, unless it no longer owns the task (canceled, removed, node stopping)."""
        with self._lock:
            if self._closing or task.run_id != run_id or self._tasks.get(task.uuid) is not task:
                return
            task.processing_time = task.elapsed_ms()
            if status == COMPLETED:
                task.progress = 100.0
            self._end(task, status, message)
            self._engines.pop(task.uuid, None)
            self._watchers.pop(task.uuid, None)
            info = task.info()
            self._schedule()
        send_webhook(task.webhook, info)

    def _end(self, task, status, message):
        """Put a task in a final state and save it (called with the lock held)."""
        task.status, task.error_message = status, message
        task.run_id, task.started_at, task.engine_pid = None, None, None
        task.save()
        self._needs.pop(task.uuid, None)  # a restart may bring new options
        self._waiting.pop(task.uuid, None)

    def _requeue_interrupted(self, task):
        """A task that was running when the node stopped: stop any engine left behind, queue it again."""
        if task.engine_pid and kill_orphan_engine(task.engine_pid, task.folder):
            log.warning("task %s: killed engine %s left running by the previous node", task.uuid, task.engine_pid)
        task.status, task.progress, task.processing_time = QUEUED, 0.0, -1
        task.started_at, task.engine_pid = None, None
        task.console.append("The node restarted while this task was running: it is queued to run again.")
        task.save()

    @staticmethod
    def _stop(engine):
        """Kill an engine and wait briefly for it to be gone, so no later step of it touches the task."""
        if engine is None:
            return
        engine.kill()
        try:
            engine.process.wait(timeout=KILL_WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - a process that will not die must not break the request
            log.warning("engine %s did not stop within %s s", engine.pid, KILL_WAIT_SECONDS)
