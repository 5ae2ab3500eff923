"""Jobs of the map tools: volumes (and exports) computed for one task, answered through /api/workers/get."""
from jobs.runtime import app_job
from webapp.services import volumes


@app_job
def measure_volume(project_id, task_id, ring, method, base_height):
    """Cut, fill and net volume inside a WGS84 ring, from the task's DSM (WebODM's volume measurement)."""
    return volumes.task_volume(project_id, task_id, [tuple(point) for point in ring], method, base_height)
