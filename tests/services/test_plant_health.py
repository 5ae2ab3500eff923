"""Plant-health formulas: WebODM's names and band orders turned into rio-tiler expressions, and bad input."""
import pytest

from webapp.services import plant_health
from webapp.services.errors import ValidationError


def test_band_orders_map_letters_to_band_numbers():
    assert plant_health.expression("NDVI", "RGN", 3) == "(b3 - b1) / (b3 + b1)"
    assert plant_health.expression("NDRE", "BGRNRe", 5) == "(b4 - b5) / (b4 + b5)"
    assert plant_health.expression("VARI", "RGB", 3) == "(b2 - b1) / (b2 + b1 - b3)"
    assert plant_health.expression("vari", "RGB", 3) == "(b2 - b1) / (b2 + b1 - b3)"  # any case, as typed
    assert plant_health.expression("MSR", "NRG", 3) == "((b1 / b2) - 1) / (sqrt(b1 / b2) + 1)"  # sqrt untouched


def test_the_issue_formulas_are_offered_for_rgb_or_multispectral_orders():
    for name in ("NDVI", "NDRE", "GNDVI", "VARI", "GLI", "TGI", "EXG", "ENDVI"):
        assert name in plant_health.FORMULAS
    rgb = {item["id"]: item for item in plant_health.algorithms(3)}
    assert "RGB" in rgb["VARI"]["filters"] and "RGN" in rgb["NDVI"]["filters"]
    assert "NDRE" not in rgb  # a red-edge band needs four or more bands
    assert rgb["NDVI"]["range"] == [-1, 1]
    five = {item["id"]: item for item in plant_health.algorithms(5)}
    assert set(five["NDRE"]["filters"]) == {"RGNRe", "GRReN", "RGBNRe", "BGRNRe", "BGRReN", "RGBReN"}


@pytest.mark.parametrize("name, order, count, field, words", [
    ("NOPE", "RGB", 3, "formula", "Unknown formula"),
    ("NDVI", "RGB", 3, "bands", "needs the nir band"),
    ("NDVI", "RGX", 3, "bands", "Unknown band order"),
    ("NDVI", "RGNN", 4, "bands", "Unknown band order"),
    ("NDRE", "BGRNRe", 3, "bands", "names 5 bands; the orthophoto has 3"),
])
def test_bad_formulas_and_band_orders_say_what_is_wrong(name, order, count, field, words):
    with pytest.raises(ValidationError) as raised:
        plant_health.expression(name, order, count)
    assert words in raised.value.field_errors[field][0]


def test_auto_band_order_reads_the_band_names_else_takes_the_first_offered():
    assert plant_health.auto_band_order("NDVI", ("blue", "green", "red", "nir", "rededge"), 5) == ("BGRNRe", True)
    assert plant_health.auto_band_order("VARI", ("red", "green", "blue"), 3) == ("RGB", True)
    assert plant_health.auto_band_order("NDVI", ("gray", "gray", "gray"), 3) == ("RGN", False)
