"""Shared pytest fixtures."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = Path(os.environ.get("AERIE_DATASETS", ROOT.parent / "shared" / "datasets"))


def dataset_images(name):
    """The image files of one real dataset under AERIE_DATASETS, or skip the test saying how to get them."""
    folder = DATASETS_DIR / name / "images"
    if not folder.is_dir():
        pytest.skip(f"dataset {name!r} not found in {DATASETS_DIR}: copy ../shared/datasets beside the "
                    f"checkout or point AERIE_DATASETS at a folder holding {name}/images/")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff"))
