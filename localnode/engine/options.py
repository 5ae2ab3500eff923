"""The engine's options and stages, as /options lists them (NodeODM's shape: every default is a string).

This module is the contract between the node server (which validates and stores options) and the engine
(which reads them typed from the task's options.json).
"""
import os

ENGINE_NAME = "aerie-engine"
ENGINE_VERSION = "0.1.0"

# The stages in running order. The names follow ODM's, so that a client's `rerun-from: odm_orthophoto`
# means the same here. "opensfm" is our structure from motion (features, matching, mapping).
STAGES = ["dataset", "opensfm", "odm_georeferencing", "odm_dem", "odm_orthophoto", "odm_report"]

# Every domain is written in the grammar NodeODM and ClusterODM parse (see ../shared/docs/NODEODM.md): on/off
# flags get "" (no check), as NodeODM gives ODM's. Rules that grammar cannot express are in NODE_RULES.
OPTIONS = [
    {"name": "fast-orthophoto", "type": "bool", "value": "false", "domain": "",
     "help": "Skip the surface model: project the images onto a flat ground plane. Faster, less accurate on relief."},
    {"name": "orthophoto-resolution", "type": "float", "value": "5", "domain": "float > 0",
     "help": "Orthophoto ground resolution in cm/pixel. It is never made finer than the photos allow."},
    {"name": "dsm", "type": "bool", "value": "false", "domain": "",
     "help": "Write a digital surface model (odm_dem/dsm.tif)."},
    {"name": "dtm", "type": "bool", "value": "false", "domain": "",
     "help": "Write a digital terrain model (odm_dem/dtm.tif): the bare ground, with trees and buildings up to "
             "about 20 m across removed."},
    {"name": "dem-resolution", "type": "float", "value": "50", "domain": "float > 0",
     "help": "DSM ground resolution in cm/pixel. The dense point cloud supports down to about 20."},
    {"name": "max-concurrency", "type": "int", "value": str(os.cpu_count() or 1), "domain": "integer >= 1",
     "help": "Maximum number of CPU threads the engine uses."},
    {"name": "min-num-features", "type": "int", "value": "8192", "domain": "integer >= 100",
     "help": "Number of SIFT features to extract per image. More helps low-texture scenes, at a cost in time."},
    {"name": "resize-to", "type": "int", "value": "2048", "domain": "integer",
     "help": "Resize images so that their longest side is this many pixels before processing (never "
             "enlarged): -1 keeps the original size, else at least 320. Smaller is faster; the orthophoto's "
             "detail follows it."},
    {"name": "matcher-neighbors", "type": "int", "value": "12", "domain": "integer >= 2",
     "help": "Number of nearest images by GPS position to match each image against."},
    {"name": "rerun-from", "type": "enum", "value": "", "domain": [""] + STAGES,
     "help": "Rerun processing from this stage, keeping the results of earlier stages."},
    {"name": "end-with", "type": "enum", "value": STAGES[-1], "domain": STAGES,
     "help": "Stop processing after this stage."},
]

MIN_RESIZE = 320

# Checks beyond the domains, made by the node itself: option name -> (test of the typed value, what it requires).
NODE_RULES = {
    "resize-to": (lambda size: size == -1 or size >= MIN_RESIZE, f"must be -1 (no resize) or at least {MIN_RESIZE}"),
}
