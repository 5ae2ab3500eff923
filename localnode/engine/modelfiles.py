"""The textured model's files as ODM writes them: Wavefront OBJ + MTL + texture images, and binary glTF (GLB).

Coordinates are ODM's: UTM easting and northing minus the offset of odm_georeferencing/coords.txt (whole metres,
so that single-precision readers keep millimetres), and the altitude as it is. The GLB holds the same numbers
under a node rotated -90 degrees about x, so that glTF readers (Y up) show the model upright; its scene's extras
give the offset and the CRS.
"""
import io
import json
import struct

import numpy as np

GLB_MAGIC, GLB_VERSION, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 2, 0x4E4F534A, 0x004E4942
FLOAT, UNSIGNED_INT = 5126, 5125
Z_UP_TO_Y_UP = [-0.7071067811865476, 0.0, 0.0, 0.7071067811865476]  # quaternion x, y, z, w


def material_name(page):
    """The material of a texture page, named as ODM names them."""
    return f"material{page:04d}"


def texture_name(base, page):
    """The texture image file of a page, named as ODM names them."""
    return f"{base}_{material_name(page)}_map_Kd.jpg"


def write_coords(path, epsg, offset):
    """odm_georeferencing/coords.txt: the projection, then the easting and northing offset."""
    zone, hemisphere = epsg % 100, "N" if epsg // 100 == 326 else "S"
    path.write_text(f"WGS84 UTM {zone}{hemisphere}\n{offset[0]:.0f} {offset[1]:.0f}\n")


def read_coords(path):
    """(projection line, offset easting, offset northing) from coords.txt."""
    lines = path.read_text().splitlines()
    east, north = (float(v) for v in lines[1].split()[:2])
    return lines[0], east, north


def write_obj(folder, base, vertices, faces, uv, page):
    """base.obj and base.mtl in folder: vertices Nx3, faces Fx3, uv Fx3x2 (v up), page F (material index)."""
    texcoords, corner_tex = np.unique(np.round(uv.reshape(-1, 2), 6), axis=0, return_inverse=True)
    corner_tex = corner_tex.reshape(-1, 3) + 1
    order = np.argsort(page, kind="stable")
    out = io.StringIO()
    out.write(f"# Aerie engine textured model\nmtllib {base}.mtl\n")
    np.savetxt(out, vertices, fmt="v %.4f %.4f %.4f")
    np.savetxt(out, texcoords, fmt="vt %.6f %.6f")
    pages = page[order]
    starts = np.r_[0, np.nonzero(np.diff(pages))[0] + 1, len(order)]
    for a, b in zip(starts[:-1], starts[1:]):
        chosen = order[a:b]
        out.write(f"usemtl {material_name(int(pages[a]))}\n")
        rows = np.stack([faces[chosen] + 1, corner_tex[chosen]], axis=2).reshape(-1, 6)
        np.savetxt(out, rows, fmt="f %d/%d %d/%d %d/%d")
    (folder / f"{base}.obj").write_text(out.getvalue())
    materials = "".join(f"newmtl {material_name(p)}\nKa 1.0 1.0 1.0\nKd 1.0 1.0 1.0\nKs 0.0 0.0 0.0\nd 1.0\n"
                        f"illum 1\nmap_Kd {texture_name(base, p)}\n\n" for p in sorted(set(page.tolist())))
    (folder / f"{base}.mtl").write_text(materials)


def read_obj(path):
    """(vertices Nx3, faces Fx3, uv Fx3x2, page per face, texture file per page) of an OBJ written by write_obj."""
    vertices, texcoords, faces, tex, page, materials = [], [], [], [], [], []
    current = -1
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            vertices.append(line[2:])
        elif line.startswith("vt "):
            texcoords.append(line[3:])
        elif line.startswith("f "):
            corners = [c.split("/") for c in line[2:].split()]
            faces.append([int(c[0]) - 1 for c in corners])
            tex.append([int(c[1]) - 1 for c in corners])
            page.append(current)
        elif line.startswith("usemtl "):
            current = len(materials)
            materials.append(line.split()[1])
    textures = {}
    name = None
    for line in path.with_suffix(".mtl").read_text().splitlines():
        if line.startswith("newmtl "):
            name = line.split()[1]
        elif line.startswith("map_Kd ") and name:
            textures[name] = line.split()[1]
    vertices = np.loadtxt(vertices, ndmin=2)
    texcoords = np.loadtxt(texcoords, ndmin=2)
    return (vertices, np.array(faces), texcoords[np.array(tex)], np.array(page),
            [path.parent / textures[m] for m in materials])


def read_glb_json(path):
    """The JSON chunk of a GLB file."""
    data = path.read_bytes()
    length, kind = struct.unpack_from("<II", data, 12)
    if kind != JSON_CHUNK:
        raise ValueError(f"{path} does not start with a JSON chunk")
    return json.loads(data[20:20 + length])


def write_glb(path, vertices, faces, uv, page, jpegs, extras):
    """A binary glTF: one primitive per texture page (JPEG bytes in `jpegs`), unlit materials.

    glTF wants one texture coordinate per vertex, so a vertex used with several coordinates (on a seam between
    two patches) is repeated.
    """
    corner_vertex = faces.reshape(-1)
    corner_uv = uv.reshape(-1, 2).astype(np.float32)
    keys = np.c_[corner_vertex, corner_uv.view(np.int32)]  # exact float bits: equal coordinates merge
    _, first, corner_index = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    positions = vertices[corner_vertex[first]].astype(np.float32)
    texcoords = corner_uv[first].copy()
    texcoords[:, 1] = 1.0 - texcoords[:, 1]  # glTF's v runs down the image
    indices = corner_index.reshape(-1, 3).astype(np.uint32)
    blob = bytearray()
    views, accessors = [], []

    def add_view(data):
        """Append bytes to the binary chunk (4-byte aligned); return the buffer view's index."""
        while len(blob) % 4:
            blob.append(0)
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)})
        blob.extend(data)
        return len(views) - 1

    def add_accessor(array, kind, component, **more):
        """A buffer view and accessor for an array; return the accessor's index."""
        accessors.append({"bufferView": add_view(array.tobytes()), "componentType": component,
                          "count": int(len(array)), "type": kind, **more})
        return len(accessors) - 1

    position = add_accessor(positions, "VEC3", FLOAT, min=positions.min(axis=0).tolist(),
                            max=positions.max(axis=0).tolist())
    texcoord = add_accessor(texcoords, "VEC2", FLOAT)
    primitives, materials, textures, images = [], [], [], []
    for p, jpeg in enumerate(jpegs):
        chosen = indices[page == p]
        if not len(chosen):
            continue
        primitives.append({"attributes": {"POSITION": position, "TEXCOORD_0": texcoord},
                           "indices": add_accessor(chosen.reshape(-1), "SCALAR", UNSIGNED_INT),
                           "material": len(materials)})
        images.append({"bufferView": add_view(jpeg), "mimeType": "image/jpeg"})
        textures.append({"source": len(images) - 1, "sampler": 0})
        materials.append({"name": material_name(p), "doubleSided": True,
                          "pbrMetallicRoughness": {"baseColorTexture": {"index": len(textures) - 1},
                                                   "metallicFactor": 0.0, "roughnessFactor": 1.0},
                          "extensions": {"KHR_materials_unlit": {}}})
    document = {
        "asset": {"version": "2.0", "generator": "Aerie engine"},
        "extensionsUsed": ["KHR_materials_unlit"],
        "scene": 0, "scenes": [{"nodes": [0], "extras": extras}],  # three.js: gltf.scene.userData
        "nodes": [{"name": "odm_textured_model_geo", "mesh": 0, "rotation": Z_UP_TO_Y_UP}],
        "meshes": [{"primitives": primitives}],
        "materials": materials, "textures": textures, "images": images,
        "samplers": [{"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}],
        "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": len(blob)}],
    }
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    blob.extend(b"\0" * (-len(blob) % 4))
    with open(path, "wb") as f:
        f.write(struct.pack("<III", GLB_MAGIC, GLB_VERSION, 12 + 8 + len(text) + 8 + len(blob)))
        f.write(struct.pack("<II", len(text), JSON_CHUNK) + text)
        f.write(struct.pack("<II", len(blob), BIN_CHUNK) + bytes(blob))
