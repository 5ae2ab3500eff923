"""The end-to-end API workflow and the pipeline's lifecycle with real processes, again on PostgreSQL.

The tests are those of tests/api/test_end_to_end.py and tests/jobs/test_pipeline_localnode.py, imported here
with their fixtures: this folder's app fixture puts them on a fresh PostgreSQL database, and the worker and
web processes they start read the same DATABASE_URL.
"""
from tests.api.test_end_to_end import background, test_the_documented_client_workflow  # noqa: F401
from tests.jobs.conftest import localnode, processes, project  # noqa: F401
from tests.jobs.test_pipeline_localnode import (  # noqa: F401
    node, photos, test_a_running_task_is_canceled_on_the_node_then_restarted,
    test_a_task_completes_restarts_from_a_stage_and_is_removed)
import pytest

from webapp.extensions import db

pytestmark = pytest.mark.slow  # a whole stack of processes


@pytest.fixture(autouse=True)
def on_postgresql(app):
    """Every test here runs on PostgreSQL (this folder's app fixture), checked rather than assumed."""
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert db.engine.dialect.name == "postgresql"
