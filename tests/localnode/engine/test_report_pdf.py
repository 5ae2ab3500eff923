"""The quality report's layout on given figures (the engine's own figures are checked in test_engine_brighton):
the parts a brighton run does not have, ground control points, photos left out and stages that did not run."""
import numpy as np

from localnode.engine.reportpdf import write_pdf
from tests.support.pdftext import cells_after, pdf_image_count, pdf_lines


def figures(**changes):
    """A small task's figures as reportdata.collect gives them: two photos, one not placed, no previews."""
    base = {
        "created": "2026-01-02 03:04 UTC", "engine": "aerie-engine 0.1.0", "crs": "EPSG:32615",
        "options": ["fast-orthophoto=true"],
        "dataset": {"uploaded": 3, "used": 2, "skipped": ["broken.jpg"], "cameras": ["DJI FC300S"],
                    "sizes": ["2000 x 1125 px"], "captured": None},
        "reconstruction": {"images": 2, "registered": 1, "points": 120, "reprojection_error_px": 0.456,
                           "camera_height_m": 40.04, "gps_residual_rms_e_m": 0.1, "gps_residual_rms_n_m": 0.2,
                           "gps_residual_rms_u_m": 0.3},
        "cameras": [{"model": "PINHOLE", "width": 640, "height": 480, "focal_px": 500.04, "focal_ratio": 0.78131,
                     "distortion": {}}],
        "times": [("dataset", 1.04), ("opensfm", 20.0)],
        "photos": [{"name": "a.jpg", "features": 900, "matches": 55, "registered": True, "points": 40,
                    "residual": [0.1, -0.2, -0.0001], "xy": [10.0, 10.0], "gps_xy": [9.9, 10.2]},
                   {"name": "b.jpg", "features": 800, "matches": None, "registered": False, "gps_xy": [20.0, 10.0]}],
        "gps": {"E": {"mean": 0.1, "sigma": 0.0, "rms": 0.1}, "N": {"mean": -0.2, "sigma": 0.0, "rms": 0.2},
                "U": {"mean": -0.0001, "sigma": 0.0, "rms": 0.0001}},
        "gcps": [{"name": "gcp1", "sightings": 3, "error": [0.012, -0.034, 0.05]},
                 {"name": "gcp2", "sightings": 1, "error": None}],
        "gcp_fit": {"gcp_count": 1, "gcp_similarity": False, "gcp_rms_m": 0.06, "gcp_rms_before_m": 2.5},
        "orthophoto": None, "dsm": None,
        "overlap": {"counts": np.array([[0, 1], [2, 6]]), "west": 0.0, "north": 20.0, "cell_m": 10.0},
    }
    return {**base, **changes}


def test_control_points_photos_left_out_and_missing_stages(tmp_path):
    """The GCP table gives each point's error (and says which could not be placed), the photo left out and the
    photo not placed are named, the previews of stages that did not run are left out, and no zero is signed."""
    path = tmp_path / "report.pdf"
    write_pdf(path, figures())
    lines = pdf_lines(path)
    assert cells_after(lines, "Photos left out", 1) == ["broken.jpg"]
    assert cells_after(lines, "Ground control points", 1) == [
        "1 used, placed by a shift: RMS error 0.06 m (GPS alone: 2.50 m)"]
    assert cells_after(lines, "gcp1", 5) == ["3", "0.012", "-0.034", "0.050", "0.062"]
    assert cells_after(lines, "gcp2", 2) == ["1", "not placed: seen in fewer than 2 placed photos"]
    assert cells_after(lines, "a.jpg", 6) == ["900", "55", "40", "0.10", "-0.20", "0.00"]
    assert cells_after(lines, "b.jpg", 3) == ["800", "-", "not placed"]
    assert cells_after(lines, "Up (Z)", 3) == ["0.000", "0.000", "0.000"]
    assert cells_after(lines, "Total", 1) == ["21.0 s"]
    assert cells_after(lines, "Camera calibration", 1) == ["PINHOLE 640 x 480 px: focal 500.0 px (0.7813 of the long side)"]
    assert "Orthophoto" not in lines and "Digital surface model (DSM)" not in lines
    assert pdf_image_count(path) == 1  # the overlap map alone


def test_previews_have_scale_bars_of_their_width(tmp_path):
    """Each preview's scale bar is a round length up to a quarter of its width (20 m on 180 m, 50 m on 300 m);
    the DSM's legend gives its lowest and highest elevation."""
    ortho = {"pixels": np.full((50, 90, 3), 120, np.uint8), "width_m": 180.0, "height_m": 100.0}
    dsm = {"pixels": np.full((50, 90, 3), 200, np.uint8), "width_m": 300.0, "height_m": 166.0, "low": 154.94,
           "high": 161.06, "ramp": [[0, 0, 255], [255, 0, 0]]}
    path = tmp_path / "report.pdf"
    write_pdf(path, figures(orthophoto=ortho, dsm=dsm))
    lines = pdf_lines(path)
    ortho_part = lines[lines.index("Orthophoto"):lines.index("Digital surface model (DSM)")]
    dsm_part = lines[lines.index("Digital surface model (DSM)"):]
    assert "20 m" in ortho_part and "50 m" in dsm_part[:6]
    assert "154.9 m" in dsm_part and "161.1 m" in dsm_part
    assert pdf_image_count(path) == 3
