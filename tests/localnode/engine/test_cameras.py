"""The camera table and the focal length it gives, on metadata written by hand (no photo needed)."""
import pytest

from localnode.engine.cameras import SENSOR_WIDTH_MM, focal_px, sensor_width_mm


def test_the_table_is_looked_up_as_exif_spells_the_names_in_any_case():
    assert sensor_width_mm("DJI", "FC6310") == 13.2
    assert sensor_width_mm("  dji ", "fc6310 ") == 13.2
    assert sensor_width_mm("DJI", "FC9999") is None and sensor_width_mm(None, None) is None


def test_every_row_can_be_found_and_is_a_real_sensor_width():
    for (make, model), width in SENSOR_WIDTH_MM.items():
        assert (make, model) == (make.strip().lower(), model.strip().lower()), f"{make} {model}: never matched"
        assert 4.0 < width < 36.0, f"{make} {model}: {width} mm is no camera sensor"


def test_the_table_wins_over_the_focal_plane_resolution():
    meta = {"make": "DJI", "model": "FC6310", "focal_mm": 8.8, "focal_plane_x_res": 100.0, "focal_plane_unit": 2}
    focal, source = focal_px(meta, 5472, 3648)
    assert focal == pytest.approx(8.8 / 13.2 * 5472) and "table" in source


def test_focal_plane_resolution_in_centimetres_for_the_size_the_exif_was_written_for():
    # 4000 px at 6250 px per cm (unit 3 is the centimetre): a sensor 0.64 cm, 6.4 mm, wide.
    meta = {"focal_mm": 4.5, "focal_plane_x_res": 4000 / 0.64, "focal_plane_unit": 3, "exif_width": 4000}
    focal, source = focal_px(meta, 1000, 750)  # the photo as matched, a quarter of the size
    assert focal == pytest.approx(4.5 / 6.4 * 1000) and "FocalPlaneXResolution" in source


def test_an_implausible_focal_plane_resolution_gives_way_to_the_35mm_equivalent():
    meta = {"focal_mm": 4.5, "focal_plane_x_res": 10.0, "focal_plane_unit": 2, "focal_35mm": 24}  # a 2.5 m sensor
    focal, source = focal_px(meta, 4000, 3000)
    assert focal == pytest.approx(24 / 43.27 * 5000) and "35 mm" in source


def test_a_small_focal_alone_assumes_the_common_drone_sensor_and_a_long_one_is_a_guess():
    focal, source = focal_px({"focal_mm": 3.61}, 4000, 3000)
    assert focal == pytest.approx(3.61 / 6.17 * 4000) and "6.17 mm" in source
    assert "guess" in focal_px({"focal_mm": 35.0}, 4000, 3000)[1]
