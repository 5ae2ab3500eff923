"""The quality report as a PDF (odm_report/report.pdf), laid out with ReportLab from reportdata's figures.

Its sections follow ODM's report: dataset summary, processing summary, processing times, previews of the
orthophoto and the DSM with scale bars, the survey's overlap map with the camera positions, GPS (and GCP)
errors, and the features and matches of each photo.
"""
import io
import math

import numpy as np
from PIL import Image
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)

MARGIN = 1.8 * cm
CONTENT_WIDTH = A4[0] - 2 * MARGIN
MAP_HEIGHT = 15 * cm
# Colours of the overlap map by number of photos seeing a place: 1, 2, 3, 4, 5 or more (red to green, as ODM).
OVERLAP_COLOURS = [(255, 255, 255), (215, 48, 39), (252, 141, 89), (254, 224, 139), (145, 207, 96), (26, 152, 80)]
STYLES = getSampleStyleSheet()
SMALL = STYLES["BodyText"].clone("small", fontSize=8, leading=10)
TABLE_STYLE = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0b0b0")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
])
HEADER_STYLE = TableStyle([("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4"))])


def write_pdf(path, figures, title="Quality report"):
    """Write the report of `figures` (see reportdata.collect) to path."""
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=title, author=figures["engine"], subject="Processing report")
    story = [Paragraph(title, STYLES["Title"]),
             Paragraph(f"Processed by {figures['engine']} on {figures['created']}", STYLES["BodyText"])]
    story += dataset_section(figures) + processing_section(figures) + times_section(figures)
    story += previews_section(figures) + survey_section(figures) + errors_section(figures)
    story += photos_section(figures)
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)


def _page_number(canvas, doc):
    """The page number at the foot of each page."""
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, f"Page {doc.page}")


def heading(text):
    """A section heading."""
    return Paragraph(text, STYLES["Heading2"])


def key_values(rows):
    """A two-column table of labels and values (values may be Paragraphs)."""
    table = Table([[label, value] for label, value in rows], colWidths=[5.5 * cm, CONTENT_WIDTH - 5.5 * cm])
    table.setStyle(TABLE_STYLE)
    table.setStyle(TableStyle([("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9)]))
    return table


def grid(header, rows, widths=None, align_right_from=1):
    """A table with a header row (repeated on each page), numbers aligned right."""
    table = Table([header] + rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TABLE_STYLE)
    table.setStyle(HEADER_STYLE)
    table.setStyle(TableStyle([("ALIGN", (align_right_from, 0), (-1, -1), "RIGHT")]))
    return table


def dataset_section(figures):
    """Photos, cameras, capture dates, area, resolution, coordinate system and options."""
    data = figures["dataset"]
    rows = [("Photos", f"{data['used']} used of {data['uploaded']} uploaded")]
    if data["skipped"]:
        rows.append(("Photos left out", Paragraph(", ".join(data["skipped"]), SMALL)))
    rows += [("Camera", ", ".join(data["cameras"])), ("Image size", "; ".join(data["sizes"]))]
    if data["captured"]:
        rows.append(("Captured", data["captured"]))
    if "area_m2" in data:
        rows.append(("Area covered", f"{data['area_m2']:.0f} m² ({data['area_m2'] / 10000:.2f} ha)"))
        rows.append(("Orthophoto resolution", f"{data['gsd_cm']:.2f} cm/pixel"))
    rows.append(("Coordinate system", figures["crs"]))
    rows.append(("Options", Paragraph(", ".join(figures["options"]) or "the defaults", SMALL)))
    return [heading("Dataset summary"), key_values(rows)]


def processing_section(figures):
    """The model's and the cloud's quality figures."""
    rec = figures["reconstruction"]
    rows = []
    if "registered" in rec:
        rows.append(("Reconstructed images", f"{rec['registered']} of {rec['images']} photos"))
        rows.append(("Reconstructed points (sparse)", f"{rec['points']}"))
        rows.append(("Mean reprojection error", f"{rec['reprojection_error_px']:.2f} px"))
        height = f"{rec['camera_height_m']:.1f} m above the median ground"
        if "relative_altitude_m" in rec:
            height += f" (drone's relative altitude {rec['relative_altitude_m']:.1f} m)"
        rows.append(("Camera height", height))
        rows.append(("GPS RMS error (E / N / U)", f"{rec['gps_residual_rms_e_m']:.2f} / "
                     f"{rec['gps_residual_rms_n_m']:.2f} / {rec['gps_residual_rms_u_m']:.2f} m"))
    if "cloud_points" in rec:
        kind = "dense" if rec["dense"] else "sparse"
        rows.append(("Point cloud", f"{rec['cloud_points']} points ({kind})"))
    for camera in figures["cameras"]:
        distortion = ", ".join(f"{name} {value:.5f}" for name, value in camera["distortion"].items())
        rows.append(("Camera calibration", f"{camera['model']} {camera['width']} x {camera['height']} px: focal "
                     f"{camera['focal_px']:.1f} px ({camera['focal_ratio']:.4f} of the long side)"
                     + (f", distortion {distortion}" if distortion else "")))
    fit = figures["gcp_fit"]
    if fit:
        how = "scale, rotation and shift" if fit.get("gcp_similarity") else "a shift"
        rows.append(("Ground control points", f"{fit['gcp_count']} used, placed by {how}: RMS error "
                     f"{fit['gcp_rms_m']:.2f} m (GPS alone: {fit['gcp_rms_before_m']:.2f} m)"))
    return [heading("Processing summary"), key_values(rows)] if rows else []


def times_section(figures):
    """The time each stage took."""
    times = figures["times"]
    if not times:
        return []
    rows = [[stage, f"{seconds:.1f} s"] for stage, seconds in times]
    rows.append(["Total", f"{sum(seconds for _, seconds in times):.1f} s"])
    table = grid(["Stage", "Time"], rows, widths=[6 * cm, 3 * cm])
    table.setStyle(TableStyle([("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 9)]))
    return [heading("Processing times"), table]


def previews_section(figures):
    """The orthophoto and the DSM, each with a scale bar (the DSM with its elevation legend)."""
    story = []
    ortho, dsm = figures["orthophoto"], figures["dsm"]
    if ortho:
        story += [PageBreak(), heading("Orthophoto"),
                  MapImage(ortho["pixels"], ortho["width_m"], ortho["height_m"], jpeg=True)]
    if dsm:
        legend = ElevationLegend(dsm["ramp"], dsm["low"], dsm["high"]) if dsm["low"] is not None else Spacer(1, 1)
        story += [PageBreak(), heading("Digital surface model (DSM)"),
                  MapImage(dsm["pixels"], dsm["width_m"], dsm["height_m"], jpeg=True), legend]
    return story


def survey_section(figures):
    """The overlap map with the cameras placed on it and their residuals to GPS."""
    overlap = figures["overlap"]
    counts = overlap["counts"]
    pixels = np.array(OVERLAP_COLOURS, np.uint8)[np.minimum(counts, len(OVERLAP_COLOURS) - 1)]
    height_m, width_m = counts.shape[0] * overlap["cell_m"], counts.shape[1] * overlap["cell_m"]
    cameras, arrows, scale = _camera_marks(figures["photos"], overlap, width_m)
    covered = counts[counts > 0]
    caption = (f"Number of photos that see each place of the survey (on the surface model). Black dots: the "
               f"cameras as placed; lines: from each GPS position to its camera, drawn {scale:g} times longer.")
    if len(covered):
        caption += (f" Of the area seen, {100 * (covered >= 5).mean():.0f} % is seen by 5 photos or more, "
                    f"median {np.median(covered):.0f}.")
    return [PageBreak(), heading("Survey data: overlap and camera positions"),
            MapImage(pixels, width_m, height_m, cameras=cameras, arrows=arrows, smooth=False),
            OverlapLegend(), Paragraph(caption, SMALL)]


def _camera_marks(photos, overlap, width_m):
    """(camera points, residual lines, their magnification) in metres from the map's top-left corner."""
    placed = [p for p in photos if "xy" in p]
    longest = max((math.hypot(*p["residual"][:2]) for p in placed), default=0.0)
    scale = _nice(0.04 * width_m / longest) if longest > 0 else 1.0  # the longest line: about 4 % of the map
    scale = max(1.0, scale)

    def to_map(x, y):
        return x - overlap["west"], overlap["north"] - y

    cameras = [to_map(*p["xy"]) for p in placed]
    arrows = []
    for p in placed:
        end = to_map(*p["xy"])
        de, dn = p["residual"][0] * scale, p["residual"][1] * scale
        arrows.append(((end[0] - de, end[1] + dn), end))
    return cameras, arrows, scale


def errors_section(figures):
    """The cameras' GPS errors per axis, and the control points' errors when there were some."""
    story = []
    gps = figures["gps"]
    if gps:
        rows = [[axis] + [_metres(gps[key][figure]) for figure in ("mean", "sigma", "rms")]
                for key, axis in (("E", "East (X)"), ("N", "North (Y)"), ("U", "Up (Z)"))]
        story += [heading("GPS errors (camera positions minus GPS, metres)"),
                  grid(["Axis", "Mean", "Sigma", "RMS"], rows, widths=[4 * cm, 3 * cm, 3 * cm, 3 * cm])]
    if figures["gcps"]:
        rows = []
        for point in figures["gcps"]:
            error = point["error"]
            cells = [_metres(v) for v in error] + [_metres(math.sqrt(sum(v * v for v in error)))] if error \
                else ["not placed: seen in fewer than 2 placed photos", "", "", ""]
            rows.append([point["name"], str(point["sightings"])] + cells)
        table = grid(["Control point", "Sightings", "East", "North", "Up", "Distance"], rows,
                     widths=[4.5 * cm, 2 * cm, 2.5 * cm, 2.5 * cm, 2.5 * cm, 2.5 * cm])
        story += [heading("Ground control point errors (model minus surveyed, metres)"), table]
    return story


def photos_section(figures):
    """Per photo: features, verified matches, points in the model, GPS residual."""
    rows = []
    for photo in figures["photos"]:
        counts = [_count(photo["features"]), _count(photo["matches"])]
        if photo["registered"]:
            rows.append([photo["name"]] + counts + [str(photo["points"])] + [_metres(v, 2) for v in photo["residual"]])
        else:
            rows.append([photo["name"]] + counts + ["not placed", "", "", ""])
    table = grid(["Photo", "Features", "Matches", "Points", "GPS E", "GPS N", "GPS U"], rows,
                 widths=[4.6 * cm, 2.1 * cm, 2.1 * cm, 2 * cm, 2 * cm, 2 * cm, 2 * cm])
    note = Paragraph("Features: SIFT features found in the photo. Matches: geometrically verified matches with "
                     "the photos it was paired with. Points: points of the model the photo sees. GPS: the "
                     "camera's position minus its GPS position (m).", SMALL)
    return [PageBreak(), heading("Features and matches per photo"), note, Spacer(1, 4), table]


def _metres(value, digits=3):
    """A length in metres with `digits` decimals, without a minus sign on a rounded zero."""
    return f"{value:.{digits}f}" if round(value, digits) != 0 else f"{0:.{digits}f}"


def _count(value):
    """A count, or a dash when unknown."""
    return "-" if value is None else str(value)


def _nice(value):
    """The largest of 1, 2, 5 times a power of ten not above value."""
    power = 10 ** math.floor(math.log10(value))
    return max(step * power for step in (1, 2, 5) if step * power <= value)


class MapImage(Flowable):
    """A north-up image of an area (width_m x height_m) fitted to the page, with a scale bar under it, and
    optionally camera dots and lines (in metres from the top-left corner)."""

    BAR_SPACE = 1.1 * cm

    def __init__(self, pixels, width_m, height_m, cameras=(), arrows=(), jpeg=False, smooth=True):
        super().__init__()
        image = Image.fromarray(pixels)
        if not smooth:  # enlarge small grids with sharp cells: PDF viewers would blur them
            factor = max(1, 800 // max(image.size))
            image = image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG" if jpeg else "PNG", quality=85)
        buffer.seek(0)
        self.image = ImageReader(buffer)
        self.width_m, self.height_m = width_m, height_m
        self.cameras, self.arrows = cameras, arrows

    def wrap(self, available_width, available_height):
        """Fit within the frame's width and MAP_HEIGHT, keeping the area's proportions."""
        limit_h = min(MAP_HEIGHT, available_height - self.BAR_SPACE)
        scale = min(available_width / self.width_m, limit_h / self.height_m)
        self.draw_w, self.draw_h = self.width_m * scale, self.height_m * scale
        self.points_per_m = scale
        return self.draw_w, self.draw_h + self.BAR_SPACE

    def draw(self):
        """The image, its frame, the marks and the scale bar."""
        c = self.canv
        bottom = self.BAR_SPACE
        c.drawImage(self.image, 0, bottom, self.draw_w, self.draw_h)
        c.setStrokeColor(colors.grey)
        c.setLineWidth(0.5)
        c.rect(0, bottom, self.draw_w, self.draw_h)
        self._draw_marks(bottom)
        self._draw_scale_bar()

    def _draw_marks(self, bottom):
        """Lines from GPS positions to cameras, and a dot per camera."""
        def point(xy):
            return xy[0] * self.points_per_m, bottom + self.draw_h - xy[1] * self.points_per_m

        c = self.canv
        c.setStrokeColor(colors.HexColor("#1f4e9c"))
        c.setLineWidth(0.8)
        for start, end in self.arrows:
            c.line(*point(start), *point(end))
        c.setFillColor(colors.black)
        for xy in self.cameras:
            c.circle(*point(xy), 1.6, stroke=0, fill=1)

    def _draw_scale_bar(self):
        """A bar of a round length (about a quarter of the map's width) in four black and white parts."""
        length_m = _nice(self.width_m / 4)
        length = length_m * self.points_per_m
        c = self.canv
        y = 0.45 * cm
        c.setLineWidth(0.5)
        c.setStrokeColor(colors.black)
        for part in range(4):
            c.setFillColor(colors.black if part % 2 == 0 else colors.white)
            c.rect(part * length / 4, y, length / 4, 4, stroke=1, fill=1)
        c.setFillColor(colors.black)
        c.setFont("Helvetica", 8)
        c.drawString(0, y + 7, "0")
        c.drawRightString(length + 8, y + 7, f"{length_m:g} m")
        c.drawString(length + 16, y, "North is up")


class ElevationLegend(Flowable):
    """The DSM's colour ramp from its low to its high elevation."""

    def __init__(self, ramp, low, high):
        super().__init__()
        self.ramp, self.low, self.high = ramp, low, high

    def wrap(self, available_width, available_height):
        """A strip across the frame."""
        return available_width, 1.0 * cm

    def draw(self):
        """The ramp as small boxes, with the elevations at its ends."""
        c = self.canv
        steps, width = 60, 8 * cm
        ramp = np.array(self.ramp, np.float32)
        for step in range(steps):
            position = step / (steps - 1) * (len(ramp) - 1)
            lower = min(int(position), len(ramp) - 2)
            rgb = ramp[lower] + (ramp[lower + 1] - ramp[lower]) * (position - lower)
            c.setFillColorRGB(*(rgb / 255))
            c.rect(1.5 * cm + step * width / steps, 0.3 * cm, width / steps + 0.5, 8, stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.setFont("Helvetica", 8)
        c.drawString(0, 0.3 * cm, "Elevation")
        c.drawString(1.5 * cm, 0.3 * cm + 11, f"{self.low:.1f} m")
        c.drawRightString(1.5 * cm + width, 0.3 * cm + 11, f"{self.high:.1f} m")


class OverlapLegend(Flowable):
    """The colours of the overlap map."""

    def wrap(self, available_width, available_height):
        """A strip across the frame."""
        return available_width, 0.8 * cm

    def draw(self):
        """A swatch per number of photos."""
        c = self.canv
        c.setFont("Helvetica", 8)
        c.setFillColor(colors.black)
        c.drawString(0, 0.2 * cm, "Photos:")
        labels = ["1", "2", "3", "4", "5+"]
        for number, (label, rgb) in enumerate(zip(labels, OVERLAP_COLOURS[1:])):
            x = 1.6 * cm + number * 1.5 * cm
            c.setFillColorRGB(*(v / 255 for v in rgb))
            c.rect(x, 0.15 * cm, 0.6 * cm, 0.35 * cm, stroke=0, fill=1)
            c.setFillColor(colors.black)
            c.drawString(x + 0.7 * cm, 0.2 * cm, label)
