"""Runs the stages of a task in order, as the node server expects.

Contract: `python -m localnode.engine <task_dir>` reads <task_dir>/images/ and options.json, keeps
intermediate data in work/ and writes assets to results/. Every stdout line is a console line, except
`@@progress <0..100>` (progress) and `@@error <message>` (the reason of a failure; exit code 1).
"""
import argparse
import time
import traceback

import cv2

from localnode.engine import console
from localnode.engine.console import EngineError, say
from localnode.engine.options import ENGINE_NAME, ENGINE_VERSION, STAGES
from localnode.engine.stages import dataset, dem, meshing, orthophoto, pointcloud, report, sfm, texturing
from localnode.engine.workspace import Workspace

STAGE_MODULES = {"dataset": dataset, "opensfm": sfm, "odm_georeferencing": pointcloud, "odm_meshing": meshing,
                 "mvs_texturing": texturing, "odm_dem": dem, "odm_orthophoto": orthophoto, "odm_report": report}
# Share of the total time each stage takes, for progress (roughly as measured at 2000 px).
STAGE_WEIGHTS = {"dataset": 5, "opensfm": 45, "odm_georeferencing": 25, "odm_meshing": 10, "mvs_texturing": 10,
                 "odm_dem": 5, "odm_orthophoto": 15, "odm_report": 5}


def main(argv):
    """Process one task folder; return the exit code (0 completed, 1 failed)."""
    parser = argparse.ArgumentParser(prog="python -m localnode.engine", description=__doc__)
    parser.add_argument("task_dir", help="task folder holding images/ and options.json")
    args = parser.parse_args(argv)
    ws = Workspace(args.task_dir)
    stage = "engine"
    try:
        options = ws.read_options()
        say("engine", f"{ENGINE_NAME} {ENGINE_VERSION}, options: "
                      + ", ".join(f"{k}={v}" for k, v in sorted(options.items())))
        cv2.setNumThreads(max(1, options["max-concurrency"]))
        for stage in stages_to_run(ws, options):
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
