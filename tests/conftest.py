from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
VAL = ROOT.parent / "shared" / "data" / "val"


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="session")
def example_pair() -> tuple[np.ndarray, np.ndarray]:
    """A real grayscale photo (as 3 equal channels) and its colour reference."""
    return read(EXAMPLES / "01_people.jpg"), read(EXAMPLES / "01_people_ref.jpg")


@pytest.fixture(scope="session")
def colour_photos() -> list[np.ndarray]:
    """A few real colour photos: from ../shared/data/val when present, else the references."""
    files = sorted(VAL.glob("*.jpg"))[:4] if VAL.is_dir() else []
    files = files or sorted(EXAMPLES.glob("*_ref.jpg"))[:4]
    return [read(f) for f in files]
