"""Runs the stages of a task in order, as the node server expects.

Contract: `python -m localnode.engine <task_dir>` reads <task_dir>/images/ and options.json, keeps
intermediate data in work/ and writes assets to results/. Every stdout line is a console line, except
`@@progress <0..100>` (progress) and `@@error <message>` (the reason of a failure; exit code 1).
"""
import argparse
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import cv2

from localnode.engine import console
from localnode.engine.console import EngineError, say
from localnode.engine.options import ENGINE_NAME, ENGINE_VERSION, STAGES
from localnode.engine.stages import dataset, dem, meshing, orthophoto, pointcloud, report, sfm, texturing
from localnode.engine.workspace import Workspace, read_json

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE_MODULES = {"dataset": dataset, "opensfm": sfm, "odm_georeferencing": pointcloud, "odm_meshing": meshing,
                 "mvs_texturing": texturing, "odm_dem": dem, "odm_orthophoto": orthophoto, "odm_report": report}
# Stages whose native libraries keep what they allocated (COLMAP's mapping, PyMeshLab): on a big survey they run in a
# process of their own, so that their memory goes back to the system when they end instead of adding to the next
# stage's peak (1000 photos: SfM left 4 GB in the process that the dense cloud then built on; bench/README.md).
OWN_PROCESS_STAGES = ("opensfm", "odm_meshing")
OWN_PROCESS_IMAGES = int(os.environ.get("LOCALNODE_OWN_PROCESS_IMAGES", "100"))  # from this many photos on; 3 s each
# Share of the total time each stage takes, for progress (roughly as measured at 2000 px).
STAGE_WEIGHTS = {"dataset": 5, "opensfm": 45, "odm_georeferencing": 25, "odm_meshing": 10, "mvs_texturing": 10,
                 "odm_dem": 5, "odm_orthophoto": 15, "odm_report": 5}


def main(argv):
    """Process one task folder; return the exit code (0 completed, 1 failed)."""
    parser = argparse.ArgumentParser(prog="python -m localnode.engine", description=__doc__)
    parser.add_argument("task_dir", help="task folder holding images/ and options.json")
    parser.add_argument("--stage", choices=STAGES, help="run this one stage only (how a stage gets its own process)")
    args = parser.parse_args(argv)
    ws = Workspace(args.task_dir)
    stage = args.stage or "engine"
    try:
        options = ws.read_options()
        cv2.setNumThreads(max(1, options["max-concurrency"]))
        if args.stage:
            run_stage(ws, args.stage, options)
            return 0
        say("engine", f"{ENGINE_NAME} {ENGINE_VERSION}, options: "
                      + ", ".join(f"{k}={v}" for k, v in sorted(options.items())))
        for stage in stages_to_run(ws, options):
            if stage in OWN_PROCESS_STAGES and _survey_images(ws) >= OWN_PROCESS_IMAGES:
                if not run_stage_in_own_process(ws, stage):
                    return 1  # the stage's process said why
            else:
                run_stage(ws, stage, options)
        console.progress(100)
        say("engine", "Processing completed")
        return 0
    except EngineError as exc:
        console.error(exc)
        return 1
    except Exception as exc:  # anything unexpected: the traceback for us, a short line for the user
        traceback.print_exc()
        console.error(f"Stage {stage} failed unexpectedly: {type(exc).__name__}: {exc}")
        return 1


def stages_to_run(ws, options):
    """The stages to run: from rerun-from (or earlier, when an earlier stage's output is missing) to end-with."""
    end = STAGES.index(options.get("end-with") or STAGES[-1])
    rerun_from = options.get("rerun-from") or ""
    start = STAGES.index(rerun_from) if rerun_from else 0
    for index in range(start):
        if not ws.stage_done(STAGES[index]):
            start = index
            break
    if rerun_from and start < STAGES.index(rerun_from):
        say("engine", f"Rerun from {rerun_from} asked, but {STAGES[start]} has no results yet: starting there")
    for later in STAGES[start:]:
        ws.forget(later)  # their outputs depend on what is about to change
    return STAGES[start:end + 1]


def _survey_images(ws):
    """The number of photos the dataset stage kept (0 before it ran)."""
    try:
        return len(read_json(ws.dataset_json)["images"])
    except (OSError, ValueError, KeyError):
        return 0


def run_stage_in_own_process(ws, stage):
    """Run one stage as `python -m localnode.engine --stage <stage>` (its console lines go straight out); True if
    it completed."""
    say(stage, "In a process of its own, so that its memory is given back when it ends")
    sys.stdout.flush()
    done = subprocess.run([sys.executable, "-m", "localnode.engine", "--stage", stage, str(ws.task_dir)],
                          cwd=REPO_ROOT)
    if done.returncode < 0:  # killed: it could not say why itself
        console.error(f"Stage {stage} was stopped by signal {-done.returncode}"
                      + (" (the system ran out of memory?)" if -done.returncode == signal.SIGKILL else ""))
    return done.returncode == 0


def run_stage(ws, stage, options):
    """Run one stage with progress scaled into its share of the total, and record it as done."""
    before = sum(STAGE_WEIGHTS[s] for s in STAGES[:STAGES.index(stage)])
    total = sum(STAGE_WEIGHTS.values())

    def report(fraction):
        console.progress(100.0 * (before + STAGE_WEIGHTS[stage] * max(0.0, min(1.0, fraction))) / total)

    say(stage, "Running")
    report(0)
    started = time.monotonic()
    figures = STAGE_MODULES[stage].run(ws, options, report) or {}
    figures["seconds"] = round(time.monotonic() - started, 2)
    ws.mark_done(stage, figures)
    report(1)
    say(stage, f"Done in {figures['seconds']:.1f} s")
