"""Entry point: `python -m localnode.engine <task_dir>`."""
import os
import sys

# One OpenBLAS thread: the engine's BLAS calls are small (scipy's Delaunay interpolation of the DSM, gain fits),
# and OpenBLAS's threads busy-wait for each other between them. On a busy 2-core machine one `find_simplex` of
# 100 points on a 60 x 60 grid took 73 s with its threads and 0.13 s without. Read when numpy loads: set first.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from localnode.engine.pipeline import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
