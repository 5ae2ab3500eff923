"""Photo metadata and focal length: the numbers SfM's scale and the ground's height depend on."""
import pytest

from localnode.engine.cameras import focal_px
from localnode.engine.geo import utm_epsg
from localnode.engine.metadata import read_metadata
from tests.support.datasets import dataset_images


def test_dji_exif_and_xmp():
    """GPS, focal, camera and DJI XMP fields of a Phantom 3 photo."""
    meta = read_metadata(dataset_images("brighton_beach")[0])
    assert (meta["make"], meta["model"]) == ("DJI", "FC300S")
    assert meta["focal_mm"] == pytest.approx(3.61) and meta["focal_35mm"] == 20
    assert 46.8 < meta["lat"] < 46.9 and -92.0 < meta["lon"] < -91.9  # west is negative
    assert meta["alt"] == pytest.approx(198.309)
    assert meta["relative_alt"] == pytest.approx(39.8) and meta["gimbal_pitch"] == pytest.approx(-89.9)


def test_focal_from_the_sensor_table():
    """A known camera: focal mm over the sensor width, scaled to the image width."""
    meta = read_metadata(dataset_images("brighton_beach")[0])
    focal, source = focal_px(meta, 2000, 1125)
    assert focal == pytest.approx(3.61 / 6.16 * 2000)
    assert "table" in source


def test_focal_from_focal_plane_resolution_for_an_unknown_model():
    """A camera missing from the table: FocalPlaneXResolution (for the EXIF image width) gives the sensor."""
    meta = read_metadata(dataset_images("caliterra_subset")[0])
    meta["model"] = "Some Unlisted Camera"
    focal, source = focal_px(meta, 1600, 1200)
    sensor_mm = 1600 / meta["focal_plane_x_res"] * 25.4
    assert focal == pytest.approx(4.5 / sensor_mm * 1600)
    assert "FocalPlaneXResolution" in source


def test_focal_from_35mm_equivalent_for_a_wide_frame():
    """Only the 35 mm equivalent known, 16:9 frame: the diagonal of the 4:3 sensor it crops is used."""
    focal, source = focal_px({"focal_35mm": 20}, 2000, 1125)
    assert focal == pytest.approx(20 / 43.27 * 2500)  # 2000 x 1500 has a 2500 px diagonal
    assert "35 mm" in source


def test_focal_of_a_portrait_photo_uses_the_long_side():
    """The sensor width is that of the long side, whatever the photo's orientation."""
    meta = {"make": "DJI", "model": "FC300S", "focal_mm": 3.61}
    assert focal_px(meta, 1125, 2000)[0] == pytest.approx(focal_px(meta, 2000, 1125)[0])


def test_focal_guess_without_any_focal():
    """No focal at all: a plausible wide-angle guess rather than a failure."""
    focal, source = focal_px({}, 4000, 3000)
    assert 0.5 * 4000 < focal < 1.2 * 4000 and "guess" in source


@pytest.mark.parametrize("lat, lon, epsg", [(46.84, -91.99, 32615), (30.17, -98.09, 32614),
                                            (-33.9, 151.2, 32756), (51.5, -0.1, 32630)])
def test_utm_zone(lat, lon, epsg):
    """The UTM zone's EPSG code, north and south."""
    assert utm_epsg(lat, lon) == epsg
