"""The reconciler: re-derives all pending work from the database, so a lost job or a flushed Redis only delays it."""
import logging

from jobs.runtime import app_job
from webapp.services import nodes

log = logging.getLogger(__name__)


@app_job
def reconcile():
    """Queue whatever work the database says is due (node refreshes; task ticks once the pipeline exists)."""
    nodes.enqueue_due_refreshes()
