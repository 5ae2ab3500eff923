"""The reconciler: re-derives all pending work from the database, so a lost job or a flushed Redis only delays it."""
import logging

from jobs.runtime import app_job
from webapp.services import nodes, ticks

log = logging.getLogger(__name__)


@app_job
def reconcile():
    """Queue whatever work the database says is due: node refreshes, and a tick for every task with work pending."""
    nodes.enqueue_due_refreshes()
    return ticks.enqueue_pending_ticks()
