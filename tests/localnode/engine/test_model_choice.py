"""Which of the models structure from motion found the engine keeps: one consistent with GPS wins."""
from localnode.engine.stages.sfm import _best


def figures(registered, residual_m, good_points, height_m=40.0):
    """The figures of one aligned model, as the SfM stage computes them."""
    return {"registered": registered, "gps_residual_rms_e_m": residual_m, "gps_residual_rms_n_m": residual_m,
            "good_points": good_points, "camera_height_m": height_m}


def test_a_degenerate_model_loses_to_a_consistent_one_with_fewer_images():
    """8 images on 5 points kilometres from GPS (seen in a real run) lose to 7 images that agree with GPS."""
    degenerate = ("degenerate", figures(8, 46000.0, 5))
    consistent = ("consistent", figures(7, 0.9, 380))
    assert _best([degenerate, consistent])[0] == "consistent"
    assert _best([consistent, degenerate])[0] == "consistent"


def test_too_few_points_or_cameras_below_the_ground_are_not_consistent():
    """A model with GPS agreement but no points to build on, or upside down, loses to a smaller sound one."""
    sound = ("sound", figures(6, 1.0, 200))
    assert _best([("pointless", figures(8, 0.5, 4)), sound])[0] == "sound"
    assert _best([("upside down", figures(8, 0.5, 300, height_m=-38.0)), sound])[0] == "sound"


def test_among_consistent_models_the_most_images_then_the_first_tried():
    """More images placed wins; between equals the first tried (the unguided matches) is kept."""
    first, second = ("first", figures(8, 0.4, 1000)), ("second", figures(8, 0.6, 1600))
    assert _best([("fewer", figures(7, 0.3, 2000)), first, second])[0] == "first"
    assert _best([]) == (None, None)
