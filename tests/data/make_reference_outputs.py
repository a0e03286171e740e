"""Write the networks' reference outputs that tests/test_reference_outputs.py compares with:
each network's colorization, with its default options, of a 64x64 gray example, and the
sha256 of the weight file that made it. Run it only when a shipped weight file changes:

    python tests/data/make_reference_outputs.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from recolor import colorize, learned  # noqa: E402
from recolor.weightfiles import sha256_of  # noqa: E402

HERE = Path(__file__).resolve().parent
EXAMPLE = ROOT / "examples" / "07_cameraman.jpg"
NETWORKS = ("pix2pix", "deoldify")


def example_input() -> np.ndarray:
    """The example, gray, 64x64 (bicubic), as three equal channels (uint8)."""
    gray = Image.open(EXAMPLE).convert("L").resize((64, 64), Image.BICUBIC)
    return np.repeat(np.asarray(gray)[..., None], 3, axis=-1)


def main() -> None:
    rgb = example_input()
    record = {}
    for key in NETWORKS:
        Image.fromarray(colorize(rgb, key)).save(HERE / f"{key}_07_cameraman.png")
        path = learned.weight_file(key)
        record[key] = {"weights": path.name, "sha256": sha256_of(path)}
        print(f"{key}: {path.name} -> {key}_07_cameraman.png")
    (HERE / "reference_outputs.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
