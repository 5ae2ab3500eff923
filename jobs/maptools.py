"""Jobs of the map tools: volumes (and exports) computed for one task, answered through /api/workers/get."""
from rq import get_current_job

from jobs.runtime import app_job
from webapp.services import contours, exports, volumes


@app_job
def measure_volume(project_id, task_id, ring, method, base_height):
    """Cut, fill and net volume inside a WGS84 ring, from the task's DSM (WebODM's volume measurement)."""
    return volumes.task_volume(project_id, task_id, [tuple(point) for point in ring], method, base_height)


@app_job
def export_asset(project_id, task_id, request, name):
    """Make an export of a task's raster or point cloud (WebODM's export), its progress in the job's meta."""
    job = get_current_job()

    def progress(fraction):
        if job is not None:
            job.meta["progress"] = round(fraction, 3)
            job.save_meta()
    return exports.export(project_id, task_id, request, name, job.id if job else "direct", progress)


@app_job
def make_contours(project_id, task_id, request, name):
    """Contour lines of a task's DSM or DTM as a file (WebODM's contours plugin)."""
    job = get_current_job()
    return contours.make(project_id, task_id, request, name, job.id if job else "direct")
