"""The GPU path: SIFT on CUDA where pycolmap-cuda12 and a CUDA device are there, the CPU otherwise; the node
says which at start and in /info's engine version. The GPU run is skipped on machines without one."""
import pycolmap
import pytest

from localnode.engine import gpu
from localnode.engine.options import ENGINE_VERSION
from tests.support.enginerun import run_engine, write_options
from tests.support.synthetic_survey import Survey, write_photos

ON_GPU = gpu.compute()["cuda"]


@pytest.mark.slow  # starts a node
def test_the_node_says_where_sift_runs(live_node):
    """Logged at start and shown in /info: the pycolmap version and CUDA or CPU."""
    device = "CUDA" if ON_GPU else "CPU"
    expected = f"{ENGINE_VERSION} (pycolmap {pycolmap.__version__}, {device})"
    assert live_node.get("/info").json()["engineVersion"] == expected
    said = "SIFT on the GPU (CUDA)" if ON_GPU else f"SIFT on the CPU ({gpu.compute()['why']}; see the README"
    assert any(said in line for line in live_node.log), live_node.log


@pytest.mark.skipif(pycolmap.has_cuda, reason="this pycolmap is built with CUDA")
def test_a_cpu_pycolmap_means_the_cpu():
    """The plain pycolmap package has no CUDA: SIFT runs on the CPU whatever the machine has."""
    assert gpu.compute() == {"pycolmap": pycolmap.__version__, "cuda": False, "why": "pycolmap built without CUDA"}
    assert gpu.sift_device() == pycolmap.Device.cpu


@pytest.mark.slow  # runs the engine
@pytest.mark.skipif(not ON_GPU, reason=f"no GPU path here: {gpu.compute().get('why')} (install pycolmap-cuda12 "
                                       "on a machine with an NVIDIA GPU to run it)")
def test_sift_runs_on_the_gpu_and_the_model_is_whole(tmp_path):
    """With CUDA, features and matches come from the GPU and every photo of the synthetic survey registers."""
    shots = write_photos(Survey(), tmp_path / "images")
    write_options(tmp_path, {"end-with": "opensfm"})
    run = run_engine(tmp_path)
    assert run.code == 0, run.text()
    assert "[opensfm] SIFT features and matching on the GPU (CUDA)" in run.console
    assert f"[opensfm] {len(shots)} of {len(shots)} images registered" in "\n".join(run.console)
