"""A task's console: the file of the lines its node printed, written by the pipeline and read by the pages and API.

The pipeline appends the node's new lines after each poll; the database's console_lines is the count committed.
"""
from webapp import storage

_written = {}  # task id -> node line count this process last stored: skips re-checking its own file


def console_output(task, line=0, limit=None):
    """(lines from `line` on, at most `limit` of them (negative: the last ones), total line count)."""
    path = storage.console_path(task.project_id, task.id)
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    selected = lines[max(line, 0):]
    if limit is not None:
        selected = selected[limit:] if limit < 0 else selected[:limit]
    return selected, len(lines)


def append_console(project_id, task_id, stored_count, lines):
    """Append the node's new lines to the console file holding stored_count lines; the node's line count now."""
    path = storage.console_path(project_id, task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _written.get(task_id) != stored_count:
        _trim_console(path, stored_count)
    if lines:
        with open(path, "a", encoding="utf-8") as console:
            console.write("".join(f"{line}\n" for line in lines))
    count = stored_count + len(lines)
    _written[task_id] = count
    return count


def _trim_console(path, keep):
    """Drop lines beyond the stored count: a step that crashed after writing them, before its commit, wrote them."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as console:
        existing = console.readlines()
    if len(existing) > keep:
        path.write_text("".join(existing[:keep]), encoding="utf-8")


def clear_console(project_id, task_id):
    """Delete a task's console (it is processed again from the start)."""
    storage.console_path(project_id, task_id).unlink(missing_ok=True)
    _written.pop(task_id, None)

