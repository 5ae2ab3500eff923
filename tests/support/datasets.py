"""Where the real drone datasets are: one setting, AERIE_DATASETS (default ../shared/datasets)."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATASETS_DIR = Path(os.environ.get("AERIE_DATASETS", ROOT.parent / "shared" / "datasets"))
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def dataset_images(name):
    """The image files of one real dataset, or skip the test saying how to get them."""
    folder = DATASETS_DIR / name / "images"
    if not folder.is_dir():
        pytest.skip(f"dataset {name!r} not found in {DATASETS_DIR}: put the project's shared/datasets folder "
                    f"beside the checkout, or point AERIE_DATASETS at a folder holding {name}/images/")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
