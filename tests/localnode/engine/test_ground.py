"""The terrain filter on surface grids: objects go, the ground stays, even on a slope."""
import numpy as np

from localnode.engine.ground import terrain_model


def sloped_ground(size=80, slope=0.25):
    """A plane rising `slope` metres per metre eastwards, on 1 m cells."""
    return np.tile(np.arange(size) * slope, (size, 1)).astype(float)


def test_a_house_on_a_slope_is_removed_and_the_slope_kept():
    """A 12 m wide, 6 m high block on a 25 % slope: the terrain under it is the plane, elsewhere untouched."""
    ground = sloped_ground()
    surface = ground.copy()
    surface[30:42, 30:42] += 6.0
    terrain, on_objects = terrain_model(surface, 1.0)
    assert np.abs(terrain - ground).max() < 0.3
    assert 0.02 < on_objects < 0.1  # the block, and the cells its edge may blur onto


def test_an_object_wider_than_the_largest_window_stays():
    """A 40 m wide plateau is terrain, not an object."""
    surface = np.zeros((80, 80))
    surface[20:60, 20:60] = 5.0
    terrain, _ = terrain_model(surface, 1.0)
    assert terrain[40, 40] == 5.0


def test_cells_without_data_stay_empty():
    """NaN cells (outside the surveyed area) are NaN in the terrain too, and the rest is filled."""
    surface = sloped_ground()
    surface[:, :10] = np.nan
    terrain, _ = terrain_model(surface, 1.0)
    assert np.isnan(terrain[:, :10]).all() and np.isfinite(terrain[:, 10:]).all()
