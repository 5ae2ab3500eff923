"""The status vocabulary of tasks is defined once (views/task_display.py) and handed to the scripts with the page."""
import json
import re

from webapp.config import ROOT
from webapp.extensions import db
from webapp.models import Task, TaskStatus
from webapp.services import projects
from webapp.views import task_display


def test_the_scripts_hold_no_status_word_or_code_of_their_own():
    words = list(task_display.STATUS_LABELS.values()) + list(task_display.PENDING_LABELS.values())
    words += [w for w in task_display.WORDS.values() if " " in w]
    for script in (ROOT / "static" / "js").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert not [w for w in words if f'"{w}"' in text], script.name
        assert not re.search(r"task\.status\s*[!=]==?\s*\d", text), script.name


def test_pages_with_tasks_carry_the_vocabulary(client, admin, login):
    project = projects.create_project(admin, "Survey")
    db.session.add(Task(project_id=project.id, name="flight", status=TaskStatus.RUNNING))
    db.session.commit()
    login("admin", "admin-password")
    page = client.get("/").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="task-vocabulary">(.*?)</script>', page, re.S)
    vocabulary = json.loads(found.group(1))
    assert vocabulary["status"]["30"] == "Failed" and vocabulary["codes"]["RUNNING"] == 20
    assert vocabulary["active"] == [None, 10, 20] and vocabulary["pending"]["1"] == "Canceling…"
