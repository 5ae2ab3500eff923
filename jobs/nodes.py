"""Jobs about processing nodes."""
from jobs.runtime import app_job
from webapp.services import nodes


@app_job
def refresh_node(node_id):
    """Refresh one node's /info and /options into the database."""
    return nodes.refresh_node(node_id)
