"""int8 networks for OpenVINO, made once from the exported f32 IR and cached beside it.

``quantized(model, xml, channels, calibrate)`` runs NNCF's post-training quantization (the
"mixed" preset: symmetric int8 weights, asymmetric activations) on the exported network. Its
activation ranges come from the inputs the network really gets: ``calibrate`` colorizes a few
example photos through a recording stand-in for the network, so the calibration sees the
model's own preprocessing, working sizes and passes. The encoder's stem stays in floating
point (f32, as in the bf16 path: ``runtime.stem_ops``): quantizing it cost 5-8 dB of PSNR
against torch on the examples, for little time.

int8 runs the convolutions on AVX-512 VNNI; it is a choice (``RECOLOR_PRECISION=int8``), with
its speed and its quality on val in docs/results/runtime-benchmark.md. It needs the ``nncf``
package only to make the file; running a cached int8 IR needs OpenVINO alone.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

QUANT_VERSION = 1  # bump when the recipe below changes what it writes


def recorded_inputs(model: nn.Module, calibrate: Callable[[nn.Module], None]) -> list[np.ndarray]:
    """The network inputs (float32 NCHW arrays) that ``calibrate`` feeds ``model``, each
    answered by the torch model itself."""
    from .runtime import Compiled  # noqa: PLC0415 - runtime imports this module lazily
    seen: list[np.ndarray] = []

    def run(x: np.ndarray) -> np.ndarray:
        seen.append(x.copy())
        with torch.inference_mode():
            return model(torch.from_numpy(x)).float().numpy()

    calibrate(Compiled(model, run, "torch", Path("calibration")))
    return seen


def quantized(model: nn.Module, xml: Path, channels: int,
              calibrate: Callable[[nn.Module], None]) -> Path:
    """The int8 IR of the exported ``xml`` (made on the first call, then cached beside it).
    Raises ImportError without ``nncf``, ValueError when ``calibrate`` feeds no input."""
    from importlib import metadata  # noqa: PLC0415
    try:
        version = metadata.version("nncf")  # without importing it: that takes seconds
    except metadata.PackageNotFoundError:
        raise ImportError("nncf", name="nncf") from None
    out = xml.with_name(f"{xml.stem}-int8-nncf{version}-q{QUANT_VERSION}.xml")
    if out.is_file():
        return out
    import nncf  # noqa: PLC0415 - optional package
    import openvino as ov  # noqa: PLC0415

    from .runtime import keep_f32, stem_ops  # noqa: PLC0415
    inputs = recorded_inputs(model, calibrate)
    if not inputs:
        raise ValueError("no calibration input: int8 needs example photos to calibrate on")
    network = ov.Core().read_model(xml)
    stem = stem_ops(network, channels)
    q = nncf.quantize(network, nncf.Dataset(inputs), preset=nncf.QuantizationPreset.MIXED,
                      subset_size=len(inputs),
                      ignored_scope=nncf.IgnoredScope(names=sorted(stem), validate=False))
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}.xml")
    ov.save_model(q, tmp, compress_to_fp16=False)
    keep_f32(tmp, stem)  # what is not int8 in the stem stays f32 under bf16 inference
    os.replace(tmp.with_suffix(".bin"), out.with_suffix(".bin"))
    os.replace(tmp, out)  # last: its presence means both are complete
    return out
