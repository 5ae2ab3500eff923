"""Holding the engine to `max-concurrency` threads, library by library.

The native libraries size their thread pools when they load, from the machine's cores unless told otherwise:
OpenMP (pycolmap's and PyMeshLab's), OpenBLAS under numpy and scipy, GDAL under rasterio. So the limit goes into
the environment before any of them is imported (`python -m localnode.engine` does it first thing, and the node
server passes it to the engine it starts); OpenCV, pycolmap, scipy and our thread pools take it as an argument.
Embree (texturing's ray casting) sizes its TBB pool from the cores and has no setting through embreex.
"""
import json
import os
from pathlib import Path

# Read at load by: OpenMP runtimes, OpenBLAS, MKL, BLIS, Apple's Accelerate, numexpr, and GDAL's multi-threaded
# compression and overviews.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "GDAL_NUM_THREADS")


def thread_environment(max_concurrency):
    """The environment variables that cap the native libraries' thread pools at max_concurrency."""
    count = str(max(1, int(max_concurrency)))
    environment = {name: count for name in THREAD_VARIABLES}
    # One OpenBLAS thread whatever the limit: the engine's BLAS calls are small (scipy's Delaunay interpolation of
    # the DSM, gain fits) and OpenBLAS's threads busy-wait for each other between them. On a busy 2-core machine
    # one `find_simplex` of 100 points on a 60 x 60 grid took 73 s with its threads and 0.13 s without.
    environment["OPENBLAS_NUM_THREADS"] = "1"
    return environment


def task_max_concurrency(task_dir):
    """The max-concurrency of a task folder's options.json, or None when it sets none (or cannot be read)."""
    try:
        value = json.loads((Path(task_dir) / "options.json").read_text()).get("max-concurrency")
        return max(1, int(value)) if value is not None else None
    except (OSError, ValueError, TypeError, AttributeError):
        return None  # the engine reports the bad file itself, with its own message


def limit_threads(task_dir):
    """Put the task's thread limit in this process's environment (call before importing the libraries)."""
    count = task_max_concurrency(task_dir)
    if count is None:
        count = os.cpu_count() or 1  # the option's default
    os.environ.update(thread_environment(count))
