"""Stage mvs_texturing (ODM's name): the textured model in odm_texturing/, as ODM writes it.

odm_textured_model_geo.obj with its .mtl and texture pages (JPEG), and odm_textured_model_geo.glb, in UTM
coordinates minus the offset written to odm_georeferencing/coords.txt (localnode/engine/modelfiles.py). How faces
get their photo and how the atlas is packed: localnode/engine/texturing.py.
"""
import io
import shutil
import time

import numpy as np
from PIL import Image

from localnode.engine import modelfiles, texturing
from localnode.engine.console import Counter, Heartbeat, say, warn
from localnode.engine.model import load_frame, load_model
from localnode.engine.stages.meshing import load_mesh
from localnode.engine.stages.orthophoto import exposure_gains, solve_gains
from localnode.engine.workspace import atomic_path

STAGE = "mvs_texturing"
FOLDER = "odm_texturing"
BASE = "odm_textured_model_geo"
COORDS = "odm_georeferencing/coords.txt"
JPEG_QUALITY = 90
PHOTO_SECONDS = 0.3  # roughly, per photo, for the steps that read every photo: only to move progress


def run(ws, options, report):
    """Texture the mesh of odm_meshing and write odm_texturing/."""
    shutil.rmtree(ws.results / FOLDER, ignore_errors=True)  # from an earlier run: never mixed with this one
    mesh = load_mesh(ws)
    if mesh is None:
        say(STAGE, "Skipped: no mesh (odm_meshing made none)")
        return {"skipped": True}
    vertices, faces = mesh
    frame = load_frame(ws)
    rec = load_model(ws)
    photos = [texturing.Photo(rec.image(i)) for i in sorted(rec.reg_image_ids())]
    started = time.monotonic()
    caster = texturing.RayCaster(vertices, faces)
    counter = Counter(STAGE, len(photos), "Photos checked for the faces they see", report, 0.0, 0.4)
    labels, rays = texturing.choose_photos(vertices, faces, photos, caster,
                                           lambda fraction: counter.update_to(round(fraction * len(photos))))
    seen = labels >= 0
    if not seen.any():
        warn(STAGE, "No photo sees the mesh: no textured model is made")
        return {"skipped": True}
    say(STAGE, f"{seen.sum():,} of {len(faces):,} faces seen ({rays:,} visibility rays), "
               f"textured from {len(set(labels[seen].tolist()))} of {len(photos)} photos")
    faces, labels = faces[seen], labels[seen]  # as ODM, faces no photo sees are left out
    if not options["texturing-skip-global-seam-leveling"]:
        with Heartbeat(STAGE, "Levelling exposure", report, 0.4, 0.5, PHOTO_SECONDS * len(photos)):
            texturing.level_exposure(vertices, faces, labels, photos, ws.images, caster, np.nonzero(seen)[0],
                                     exposure_gains(ws, photos), solve_gains)
        gains = np.array([p.gain for p in photos])
        say(STAGE, f"Exposure levelled: gains from {gains.min():.2f} to {gains.max():.2f}")
    with Heartbeat(STAGE, "Building the texture atlas", report, 0.5, 0.8, PHOTO_SECONDS * len(photos)):
        atlas, patch, page, uv, scale = texturing.build_atlas(vertices, faces, labels, photos, ws.images,
                                                              options["texturing-single-material"])
    offset = (round(frame.origin[0]), round(frame.origin[1]))
    used, faces = np.unique(faces, return_inverse=True)  # vertices of left-out faces only are dropped
    faces = faces.reshape(-1, 3)
    geo = vertices[used] + np.array([frame.origin[0] - offset[0], frame.origin[1] - offset[1], frame.origin[2]])
    _write(ws, frame, offset, geo, faces, uv, page, atlas)
    say(STAGE, f"Wrote {FOLDER}/{BASE}.obj and .glb: {len(faces):,} faces, {int(patch.max()) + 1:,} patches "
               f"in {atlas.page_count} texture page(s) of {atlas.page_size} px"
               f"{'' if scale >= 1 else f' (texels {1 / scale:.1f}x the photo pixels)'}, "
               f"in {time.monotonic() - started:.1f} s")
    return {"faces": int(len(faces)), "patches": int(patch.max()) + 1, "pages": atlas.page_count,
            "page_size": atlas.page_size, "texel_scale": round(float(scale), 3), "offset": list(offset),
            "gains": {p.name: [round(float(g), 4) for g in p.gain] for p in photos}}


def _write(ws, frame, offset, geo, faces, uv, page, atlas):
    """Write odm_texturing/ (into a temporary folder renamed at the end) and coords.txt."""
    modelfiles.write_coords(ws.result(COORDS), frame.epsg, offset)
    with atomic_path(ws.results / FOLDER) as folder:
        folder.mkdir(parents=True)
        jpegs = []
        for number, pixels in enumerate(atlas.pages):
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, "JPEG", quality=JPEG_QUALITY)
            jpegs.append(buffer.getvalue())
            (folder / modelfiles.texture_name(BASE, number)).write_bytes(jpegs[-1])
        modelfiles.write_obj(folder, BASE, geo, faces, uv, page)
        extras = {"offset": [offset[0], offset[1], 0], "crs": f"EPSG:{frame.epsg}",
                  "note": "UTM = position + offset; the node turns z-up into glTF's y-up"}
        modelfiles.write_glb(folder / f"{BASE}.glb", geo, faces, uv, page, jpegs, extras)
