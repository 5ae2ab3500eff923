"""Stage odm_report: camera positions (shots.geojson), cameras.json, images.json, a stats JSON and the quality
report (report.pdf, see reportdata and reportpdf)."""
import traceback

import numpy as np

from localnode.engine import reportdata, reportpdf
from localnode.engine.console import say, warn
from localnode.engine.model import load_frame, load_model
from localnode.engine.options import STAGES
from localnode.engine.workspace import atomic_path, read_json, write_json

STAGE = "odm_report"
REPORT_PDF = "odm_report/report.pdf"


def run(ws, options, report):
    """Write the report files from the model and the other stages' figures."""
    frame = load_frame(ws)
    rec = load_model(ws)
    images = read_json(ws.dataset_json)["images"]
    shots = {rec.image(i).name: rec.image(i) for i in rec.reg_image_ids()}
    write_json(ws.result("odm_report/shots.geojson"), shots_geojson(shots, images, frame))
    write_json(ws.result("cameras.json"), cameras_json(rec, images))
    write_json(ws.result("images.json"), images_json(images, shots))
    stats = {stage: read_json(ws.marker(stage)) for stage in STAGES if ws.stage_done(stage)}
    stats["crs"] = f"EPSG:{frame.epsg}"
    write_json(ws.result("odm_report/stats.json"), stats)
    say(STAGE, f"Wrote shots.geojson ({len(shots)} cameras), cameras.json, images.json and stats.json")
    report(0.3)
    write_quality_report(ws, rec, images, frame, stats, options)
    return {"shots": len(shots)}


def write_quality_report(ws, rec, images, frame, stats, options):
    """Write report.pdf; a failure there is a warning, not the task's end: the results themselves are made."""
    try:
        with atomic_path(ws.result(REPORT_PDF)) as tmp:
            reportpdf.write_pdf(tmp, reportdata.collect(ws, rec, images, frame, stats, options))
    except Exception as exc:  # any library's error: the report is a summary, the task must not lose its results
        traceback.print_exc()
        (ws.results / REPORT_PDF).unlink(missing_ok=True)  # an earlier run's report would describe other results
        warn(STAGE, f"The quality report could not be made ({type(exc).__name__}: {exc}); the results are complete")
        return
    say(STAGE, f"Wrote {REPORT_PDF}")


def shots_geojson(shots, images, frame):
    """A GeoJSON point (WGS84) per registered photo at its computed camera position."""
    features = []
    by_name = {i["name"]: i for i in images}
    for name, image in sorted(shots.items()):
        x, y, z = image.projection_center()
        lat, lon, alt = frame.wgs84_from_local(x, y, z)
        gps = by_name[name]
        residual = np.array([x - gps["x"], y - gps["y"], z - gps["z"]])
        rotation = image.cam_from_world().rotation.matrix()
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(lon, 9), round(lat, 9), round(alt, 3)]},
            "properties": {
                "filename": name,
                "translation": [round(float(v), 3) for v in (x + frame.origin[0], y + frame.origin[1], z)],
                "rotation": [[round(float(v), 6) for v in row] for row in rotation],
                "gps_residual_m": round(float(np.linalg.norm(residual)), 3),
                "focal_px": round(float(image.camera.mean_focal_length()), 2),
            },
        })
    return {"type": "FeatureCollection", "features": features}


def cameras_json(rec, images):
    """The calibrated cameras, keyed like ODM's (make model width height projection focal-ratio)."""
    by_name = {i["name"]: i for i in images}
    cameras = {}
    for image_id in rec.reg_image_ids():
        image = rec.image(image_id)
        camera, meta = image.camera, by_name[image.name]
        size = max(camera.width, camera.height)
        focal = camera.mean_focal_length() / size
        key = (f"v2 {meta.get('make', 'unknown')} {meta.get('model', 'unknown')} {meta['orig_width']} "
               f"{meta['orig_height']} perspective {focal:.4f}").lower()
        params = dict(zip(camera.params_info.split(", "), camera.params)) if camera.params_info else {}
        cameras[key] = {"projection_type": "perspective", "width": meta["orig_width"],
                        "height": meta["orig_height"], "focal": focal, "k1": float(params.get("k", 0.0)),
                        "k2": 0.0}
    return cameras


def images_json(images, shots):
    """Per photo: file name, size, camera, GPS position and whether it was registered."""
    return [{
        "filename": i["name"], "width": i["orig_width"], "height": i["orig_height"],
        "camera_make": i.get("make"), "camera_model": i.get("model"),
        "latitude": i["lat"], "longitude": i["lon"], "altitude": i["alt"],
        "relative_altitude": i.get("relative_alt"), "focal_length_mm": i.get("focal_mm"),
        "focal_px": i["focal_px"] * max(i["orig_width"], i["orig_height"]) / max(i["width"], i["height"]),
        "focal_source": i["focal_source"], "capture_time": i.get("capture_time"),
        "registered": i["name"] in shots,
    } for i in images]
