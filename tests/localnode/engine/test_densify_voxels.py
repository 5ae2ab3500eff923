"""The dense cloud's voxel merging on small synthetic arrays: keys, means per voxel, how many pairs must agree."""
import numpy as np
import pytest

from localnode.engine import densify
from localnode.engine.densify import (COVERAGE_CELL_M, PairVoxels, SparseEnvelope, VoxelMerger, cell_keys,
                                      coarser_keys, column_keys)


def pair_voxels(points, voxel=1.0, colour=(100, 100, 100)):
    """One pair's voxels of the given points, all of one colour."""
    xyz = np.array(points, float)
    return PairVoxels.from_points(xyz, np.tile(np.array(colour, float), (len(xyz), 1)), voxel)


def coverage(*places):
    """The ground cells of the given XY places, as one pair's coverage."""
    return np.unique(column_keys(np.array(places, float), COVERAGE_CELL_M))


def test_points_in_one_cube_share_a_key_and_neighbours_do_not():
    keys = cell_keys(np.array([[0.1, 0.2, 0.3], [0.9, 0.9, 0.9], [1.1, 0.2, 0.3], [-0.1, 0.2, 0.3]]), 1.0)
    assert keys[0] == keys[1] and len(set(keys.tolist())) == 3


def test_column_keys_ignore_height():
    assert column_keys(np.array([[2.5, -3.5]]), 1.0)[0] == cell_keys(np.array([[2.5, -3.5, 0.0]]), 1.0)[0]
    assert cell_keys(np.array([[2.5, -3.5, 40.0]]), 1.0)[0] != cell_keys(np.array([[2.5, -3.5, 0.0]]), 1.0)[0]


def test_coarser_keys_are_the_keys_of_the_bigger_cubes_even_below_zero():
    xyz = np.array([[0.5, 0.5, 0.5], [1.5, 1.5, 1.5], [-0.5, 0.5, 0.5], [2.5, 0.5, 0.5], [-2.5, -1.5, 3.5]])
    assert coarser_keys(cell_keys(xyz, 1.0), 2).tolist() == cell_keys(xyz, 2.0).tolist()


def test_a_pairs_points_are_averaged_per_voxel_with_their_count_as_weight():
    xyz = np.array([[0.2, 0.2, 0.2], [0.4, 0.6, 0.8], [5.5, 5.5, 5.5]])
    rgb = np.array([[0, 0, 0], [200, 100, 50], [10, 20, 30]], float)
    voxels = PairVoxels.from_points(xyz, rgb, 1.0)
    order = np.argsort(voxels.weight)[::-1]
    assert voxels.weight[order].tolist() == [2.0, 1.0]
    assert voxels.xyz[order[0]] == pytest.approx([0.3, 0.4, 0.5])
    assert voxels.rgb[order[0]] == pytest.approx([100, 50, 25])
    assert voxels.support_pairs.tolist() == [1, 1]


def test_merging_weights_each_pair_by_its_point_count_and_adds_up_the_pairs_that_saw_a_cell():
    two_points = PairVoxels.from_points(np.array([[0.1, 0.1, 0.1], [0.3, 0.3, 0.3]]), np.zeros((2, 3)), 1.0)
    one_point = PairVoxels.from_points(np.array([[0.8, 0.8, 0.8]]), np.full((1, 3), 90.0), 1.0)
    merged = PairVoxels.merge([two_points, one_point])
    assert len(merged.keys) == 1 and merged.weight.tolist() == [3.0]
    assert merged.xyz[0] == pytest.approx([0.4, 0.4, 0.4])  # (0.1 + 0.3 + 0.8) / 3
    assert merged.rgb[0] == pytest.approx([30, 30, 30])
    assert merged.support_pairs.tolist() == [2]


def test_a_place_that_three_pairs_could_see_needs_three_of_them_to_agree():
    merger = VoxelMerger()
    seen_by_all = coverage((0.5, 0.5), (5.5, 5.5))
    merger.add(pair_voxels([[0.5, 0.5, 0.5], [5.5, 5.5, 0.5]]), seen_by_all)
    merger.add(pair_voxels([[0.5, 0.5, 0.5], [5.5, 5.5, 0.5]]), seen_by_all)
    merger.add(pair_voxels([[0.5, 0.5, 0.5]]), seen_by_all)  # the third pair found nothing at (5.5, 5.5)
    xyz, rgb = merger.points()
    assert xyz.tolist() == [[0.5, 0.5, 0.5]] and rgb.dtype == np.uint8 and rgb.tolist() == [[100, 100, 100]]


def test_at_the_edge_two_pairs_suffice_where_only_two_could_see_but_never_one():
    merger = VoxelMerger()
    merger.add(pair_voxels([[0.5, 0.5, 0.5], [9.5, 9.5, 0.5]]), coverage((0.5, 0.5), (9.5, 9.5)))
    merger.add(pair_voxels([[0.5, 0.5, 0.5]]), coverage((0.5, 0.5)))
    merger.add(pair_voxels([[20.5, 0.5, 0.5]]), coverage((20.5, 0.5)))  # seen by this pair alone
    xyz, _ = merger.points()
    assert xyz.tolist() == [[0.5, 0.5, 0.5]]


def test_folding_early_gives_the_same_points(monkeypatch):
    def merged_points():
        merger = VoxelMerger()
        for shift in (0.0, 0.1, 0.2):
            merger.add(pair_voxels([[0.5 + shift, 0.5, 0.5], [3.5, 3.5 + shift, 0.5]], colour=(shift * 100,) * 3),
                       coverage((0.5, 0.5), (3.5, 3.5)))
        return merger.points()

    at_the_end = merged_points()
    monkeypatch.setattr(densify, "FOLD_VOXELS", 1)  # fold after every pair, as on a large survey
    folded_each_time = merged_points()
    assert np.allclose(at_the_end[0], folded_each_time[0]) and (at_the_end[1] == folded_each_time[1]).all()
    assert len(at_the_end[0]) == 2


def test_no_pair_gives_no_points():
    xyz, rgb = VoxelMerger().points()
    assert xyz.shape == (0, 3) and rgb.shape == (0, 3)


def test_the_envelope_keeps_points_near_the_sparse_heights_around_them():
    grid = np.array([[x, y, 10.0 + 0.1 * x] for x in range(5) for y in range(5)], float)
    envelope = SparseEnvelope(grid)
    dense = np.array([[2.0, 2.0, 10.5], [2.0, 2.0, 10.0 + densify.ENVELOPE_M + 1.0], [2.0, 2.0, 5.0]])
    assert envelope.inside(dense).tolist() == [True, False, False]
    assert envelope.inside(np.zeros((0, 3))).shape == (0,)
