"""The altitudes the model is fitted to (localnode/engine/levelling.py): GPS, or DJI's relative altitude."""
import numpy as np

from localnode.engine.levelling import fit_altitudes


def photo(gps_altitude, relative=None, time=None):
    """The fields of a dataset image that fit_altitudes reads."""
    image = {"z": gps_altitude}
    if relative is not None:
        image["relative_alt"] = relative
    if time is not None:
        image["capture_time"] = f"2026:12:02 {time}"
    return image


def test_gps_altitude_when_a_photo_lacks_the_relative_one():
    """One photo without relative altitude: the GPS altitudes, as they are."""
    altitudes, source = fit_altitudes([photo(100.0, 40.0), photo(130.0)])
    assert source == "GPS altitude" and altitudes.tolist() == [100.0, 130.0]


def test_relative_altitude_set_at_the_median_gps_altitude():
    """A barometer steady at 40 m while GPS drifts 30 m: the heights follow the barometer, at the GPS median."""
    images = [photo(100.0 + 10 * k, 40.0, f"10:00:{2 * k:02d}") for k in range(4)]
    altitudes, source = fit_altitudes(images)
    assert source == "relative altitude"
    assert np.allclose(altitudes, 115.0)


def test_each_flight_keeps_its_own_take_off_point():
    """Two flights (a battery change: 20 minutes between them) taking off 8 m apart in height: relative altitude
    counts from each take-off, so each flight is set at its own GPS median."""
    first = [photo(140.0, 40.0, f"10:00:{2 * k:02d}") for k in range(3)]
    second = [photo(148.0, 40.0, f"10:20:{2 * k:02d}") for k in range(3)]
    altitudes, _ = fit_altitudes(first + second)
    assert np.allclose(altitudes, [140.0] * 3 + [148.0] * 3)
