"""The pretrained networks the DeOldify trainer starts from (ImageNet MobileNetV2 for the
encoder, VGG for the perceptual loss): files in ../shared/weights, checked by sha256."""
from __future__ import annotations

from pathlib import Path

import torch

from ...models.deoldify import DynamicUnet, load_encoder_state
from ...weightfiles import sha256_of

ROOT = Path(__file__).resolve().parents[3]
SHARED_WEIGHTS = ROOT.parent / "shared" / "weights"
# file name and sha256 prefix (../shared/README.md) of each pretrained network we use
PRETRAINED = {
    "mobilenet_v2": ("mobilenet_v2_features_tonylins_tvkeys.pth", "0a859183955acecf"),
    "vgg16": ("vgg16_features_to_relu3_3_tvkeys.pth", "38ace1e7f81bb170"),
    "vgg19": ("vgg19_normalised_to_relu3_1_tvkeys.pth", "028fadd9ee863762"),
}


def load_pretrained(name: str, path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The state_dict of pretrained network ``name`` (a key of PRETRAINED), from ``path`` or
    ../shared/weights, after checking its sha256 prefix."""
    file, prefix = PRETRAINED[name]
    path = Path(path) if path else SHARED_WEIGHTS / file
    if not path.is_file():
        raise FileNotFoundError(f"{name} weights not found at {path} (see ../shared/README.md)")
    digest = sha256_of(path)
    if not digest.startswith(prefix):
        raise ValueError(f"{path}: sha256 {digest[:16]} != expected {prefix} for {name}")
    return torch.load(path, map_location="cpu", weights_only=True)


def init_encoder(model: DynamicUnet, path: str | Path | None = None) -> None:
    """Initialise the slim generator's MobileNetV2 body from the ImageNet weights."""
    load_encoder_state(model, load_pretrained("mobilenet_v2", path))
