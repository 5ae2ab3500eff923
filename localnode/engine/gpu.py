"""Whether the engine can use a CUDA GPU: a CUDA-enabled pycolmap (the pycolmap-cuda12 package) and a driver
that sees a device. SIFT extraction and matching then run on the GPU, everything else as on the CPU.

`python -m localnode.engine.gpu` prints the answer as JSON: the node server asks it once at start, in a child
process, so that it never loads pycolmap or CUDA itself (hence pycolmap is imported where it is used).
"""
import ctypes
import json
from functools import lru_cache

CUDA_SUCCESS = 0


def cuda_devices():
    """How many CUDA devices the installed driver sees (0 without a driver or a device)."""
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if driver.cuInit(0) != CUDA_SUCCESS or driver.cuDeviceGetCount(ctypes.byref(count)) != CUDA_SUCCESS:
        return 0
    return count.value


@lru_cache(maxsize=1)
def compute():
    """{"pycolmap": version, "cuda": True when SIFT runs on a GPU, "why": a short reason when it does not}."""
    import pycolmap
    if not pycolmap.has_cuda:
        return {"pycolmap": pycolmap.__version__, "cuda": False, "why": "pycolmap built without CUDA"}
    devices = cuda_devices()
    if devices == 0:
        return {"pycolmap": pycolmap.__version__, "cuda": False, "why": "no CUDA device found"}
    return {"pycolmap": pycolmap.__version__, "cuda": True, "devices": devices}


def sift_device():
    """The pycolmap device for SIFT extraction and matching."""
    import pycolmap
    return pycolmap.Device.cuda if compute()["cuda"] else pycolmap.Device.cpu


def describe(found):
    """'pycolmap 4.2.1, CUDA' or 'pycolmap 4.2.1, CPU', from compute()'s answer."""
    return f"pycolmap {found['pycolmap']}, {'CUDA' if found['cuda'] else 'CPU'}"


if __name__ == "__main__":
    print(json.dumps(compute()))
