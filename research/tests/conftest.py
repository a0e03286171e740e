"""Fixtures for the research tools' tests (run apart from the product's suite:
`python -m pytest -q research/tests` from the repository root)."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]  # the repository
EXAMPLES = ROOT / "examples"
VAL = ROOT.parent / "shared" / "data" / "val"


@pytest.fixture(scope="session")
def colour_photos() -> list[np.ndarray]:
    """A few real colour photos: from ../shared/data/val when present, else the references."""
    files = sorted(VAL.glob("*.jpg"))[:4] if VAL.is_dir() else []
    files = files or sorted(EXAMPLES.glob("*_ref.jpg"))[:4]
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]
