"""Plant-health (vegetation index) formulas over an orthophoto's bands, named and ordered as WebODM names them.

A formula is written over band letters: R red, G green, B blue, N near infrared, Re red edge, L long-wave
infrared (thermal), P panchromatic. A band order (WebODM's "bands", a camera filter such as RGB, RGN or BGRNRe)
says which raster band holds which letter; `expression` turns the pair into a rio-tiler band expression
(b1, b2, ...) evaluated per pixel.
"""
import re
from typing import NamedTuple

from webapp.services.errors import ValidationError

BAND_LETTER = re.compile(r"[A-Z][a-z]*")
BAND_NAMES = {"R": "red", "G": "green", "B": "blue", "N": "nir", "Re": "rededge", "L": "lwir", "P": "panchro"}


class Formula(NamedTuple):
    """An index: its expression over band letters, a sentence saying what it shows, its natural value range."""

    expr: str
    help: str
    range: tuple | None = None


UNIT = (-1, 1)
# WebODM's formula names (its ids, which clients send as `formula`), written out from the published indices.
FORMULAS = {
    "NDVI": Formula("(N - R) / (N + R)", "Normalized Difference Vegetation Index: the amount of green vegetation.",
                    UNIT),
    "NDYI": Formula("(G - B) / (G + B)", "Normalized Difference Yellowness Index: flowering, such as canola's.",
                    UNIT),
    "NDRE": Formula("(N - Re) / (N + Re)",
                    "Normalized Difference Red Edge: green vegetation of later-stage and permanent crops.", UNIT),
    "NDWI": Formula("(G - N) / (G + N)", "Normalized Difference Water Index: water in water bodies.", UNIT),
    "NDVI (Blue)": Formula("(N - B) / (N + B)", "NDVI computed with the blue band in place of red.", UNIT),
    "ENDVI": Formula("((N + G) - (2 * B)) / ((N + G) + (2 * B))",
                     "Enhanced NDVI: near infrared and green against blue."),
    "vNDVI": Formula("0.5268 * ((R ** -0.1294) * (G ** 0.3389) * (B ** -0.3118))",
                     "Visible NDVI: an NDVI estimate from RGB cameras (Costa et al., 2020)."),
    "VARI": Formula("(G - R) / (G + R - B)", "Visible Atmospherically Resistant Index: vegetation from RGB.", UNIT),
    "MPRI": Formula("(G - R) / (G + R)", "Modified Photochemical Reflectance Index, from green and red.", UNIT),
    "EXG": Formula("(2 * G) - (R + B)", "Excess Green: the greenness of leafy crops, from RGB."),
    "TGI": Formula("G - 0.39 * R - 0.61 * B",
                   "Triangular Greenness Index: chlorophyll from RGB (Hunt et al., 2013)."),
    "BAI": Formula("1.0 / (((0.1 - R) ** 2) + ((0.06 - N) ** 2))", "Burn Area Index: burned land."),
    "GLI": Formula("((G * 2) - R - B) / ((G * 2) + R + B)", "Green Leaf Index: green leaves and stems, from RGB.",
                   UNIT),
    "GNDVI": Formula("(N - G) / (N + G)", "Green NDVI: NDVI with the green band in place of red.", UNIT),
    "GRVI": Formula("N / G", "Green Ratio Vegetation Index: photosynthetic activity of forests."),
    "SAVI": Formula("(1.5 * (N - R)) / (N + R + 0.5)", "Soil Adjusted Vegetation Index: NDVI corrected for bare soil."),
    "MNLI": Formula("((N ** 2 - R) * 1.5) / (N ** 2 + R + 0.5)", "Modified Non-Linear Index: accounts for soil."),
    "MSR": Formula("((N / R) - 1) / (sqrt(N / R) + 1)", "Modified Simple Ratio: more sensitive to vegetation."),
    "RDVI": Formula("(N - R) / sqrt(N + R)", "Renormalized Difference Vegetation Index: healthy vegetation."),
    "TDVI": Formula("1.5 * ((N - R) / sqrt(N ** 2 + R + 0.5))",
                    "Transformed Difference Vegetation Index: vegetation cover in towns."),
    "OSAVI": Formula("(N - R) / (N + R + 0.16)", "Optimized SAVI: better where little vegetation covers the soil."),
    "LAI": Formula("3.618 * (2.5 * (N - R) / (N + 6 * R - 7.5 * B + 1)) - 0.118",
                   "Leaf Area Index: foliage area, a predictor of yield.", UNIT),
    "EVI": Formula("2.5 * (N - R) / (N + 6 * R - 7.5 * B + 1)",
                   "Enhanced Vegetation Index: does not saturate where NDVI does.", UNIT),
    "ARVI": Formula("(N - (2 * R) + B) / (N + (2 * R) + B)",
                    "Atmospherically Resistant Vegetation Index: NDVI less sensitive to haze.", UNIT),
    "Celsius": Formula("L", "Thermal band: temperature in degrees Celsius."),
    "Kelvin": Formula("L * 100 + 27315", "Thermal band: temperature in centikelvin."),
}
# WebODM's band orders (camera filters), as clients send them in `bands`.
BAND_ORDERS = ("RGB", "RGN", "NGB", "NRG", "NRB", "RGBN", "RGNRe", "GRReN", "RGBNRe", "BGRNRe", "BGRReN", "RGBReN",
               "RGBNReL", "BGRNReL", "BGRReNL", "BGRNReP", "RGBNReP", "RGBNRePL", "L")
AUTO = "auto"


def formula(name):
    """The formula of that name (exact, or in any case); ValidationError naming the field for an unknown one."""
    if name in FORMULAS:
        return FORMULAS[name]
    by_case = {key.lower(): value for key, value in FORMULAS.items()}
    if name.lower() in by_case:
        return by_case[name.lower()]
    raise ValidationError(field_errors={"formula": [f"Unknown formula {name!r}; use one of {', '.join(FORMULAS)}."]})


def band_letters(order):
    """The band letters of a band order ("BGRNRe" -> B, G, R, N, Re); ValidationError for a malformed one."""
    letters = BAND_LETTER.findall(order or "")
    if not letters or "".join(letters) != order or any(letter not in BAND_NAMES for letter in letters) \
            or len(set(letters)) != len(letters):
        raise ValidationError(field_errors={"bands": [
            f"Unknown band order {order!r}; use letters R, G, B, N, Re, L, P once each, such as RGB or BGRNRe."]})
    return letters


def letters_of(name):
    """The band letters a formula reads."""
    return set(BAND_LETTER.findall(formula(name).expr))


def expression(name, order, band_count):
    """The rio-tiler expression of a formula for a raster whose first bands are in that order."""
    letters = band_letters(order)
    if len(letters) > band_count:
        raise ValidationError(field_errors={"bands": [
            f"The band order {order} names {len(letters)} bands; the orthophoto has {band_count}."]})
    missing = letters_of(name) - set(letters)
    if missing:
        raise ValidationError(field_errors={"bands": [
            f"{name} needs the {', '.join(BAND_NAMES[letter] for letter in sorted(missing))} band, "
            f"which the band order {order} does not have."]})
    return BAND_LETTER.sub(lambda match: f"b{letters.index(match.group(0)) + 1}", formula(name).expr)


def band_orders_for(name, band_count):
    """The band orders offered for a formula on a raster of band_count bands (not counting alpha)."""
    needed = letters_of(name)
    return [order for order in BAND_ORDERS
            if needed <= set(band_letters(order)) and len(band_letters(order)) <= band_count]


def algorithms(band_count):
    """WebODM's `algorithms` list of the metadata: the formulas usable with this many bands, with their orders."""
    listed = []
    for name, entry in FORMULAS.items():
        filters = band_orders_for(name, band_count)
        if filters:
            item = {"id": name, "filters": filters, "expr": entry.expr, "help": entry.help}
            if entry.range:
                item["range"] = list(entry.range)
            listed.append(item)
    return listed


def auto_band_order(name, band_descriptions, band_count):
    """The band order `bands=auto` stands for: from the bands' names when they all say, else the first offered.

    Returns (order, matched): matched says whether the band names gave it.
    """
    offered = band_orders_for(name, band_count)
    if not offered:
        raise ValidationError(field_errors={"bands": [f"No band order of {band_count} bands suits {name}."]})
    by_name = {value: letter for letter, value in BAND_NAMES.items()}
    by_name.update({letter.lower(): letter for letter in BAND_NAMES})
    from_names = "".join(by_name.get((text or "").strip().lower(), "?") for text in band_descriptions)
    if from_names in offered:
        return from_names, True
    return offered[0], False
