"""Change what an exported generator (fp16 safetensors) recommends for inference, or blend two,
without the training checkpoint (a GPU run may bring back only exported files).

    python scripts/retune_weights.py IN.safetensors OUT.safetensors --render-factor 10  # DeOldify
    python scripts/retune_weights.py IN.safetensors OUT.safetensors --infer-size 160    # pix2pix
    python scripts/retune_weights.py IN.safetensors OUT.safetensors --passes 4          # either
    python scripts/retune_weights.py IN.safetensors OUT.safetensors --saturation 1.3    # either
    python scripts/retune_weights.py IN.safetensors OUT.safetensors --v-exponent 1.6    # either
    python scripts/retune_weights.py A.safetensors OUT.safetensors --blend B.safetensors 0.9

``--blend B ALPHA`` writes ``(1 - ALPHA) * A + ALPHA * B`` (network interpolation, as
``recolor.train.pix2pix --blend`` does for checkpoints) with A's metadata. A DeOldify file
written into a weights folder is entered in that folder's manifest.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the recolor package
from recolor.models.passes import PASSES  # noqa: E402
from recolor.weightfiles import read_safetensors  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--render-factor", type=int, help="DeOldify: the weights' render_factor")
    p.add_argument("--passes", type=int, choices=PASSES,
                   help="either network: predictions averaged (`recolor.models.passes`)")
    p.add_argument("--infer-size", type=int, help="pix2pix: the working short side")
    p.add_argument("--saturation", type=float,
                   help="either network: the default chroma gain (`color.scale_chroma`)")
    p.add_argument("--v-exponent", type=float,
                   help="either network: V's gain is the saturation to this power")
    p.add_argument("--blend", nargs=2, metavar=("B", "ALPHA"))
    p.add_argument("--source", help="the metadata's source (default: the input's)")
    a = p.parse_args()
    sd, meta = read_safetensors(Path(a.src))
    if a.blend:
        from recolor.train.blend import blend
        alpha = float(a.blend[1])
        sd = blend(sd, read_safetensors(Path(a.blend[0]))[0], alpha)
        meta["source"] = f"blend({meta.get('source')}, {a.blend[0]}, {alpha})"
    config = json.loads(meta.get("config", "{}"))
    if a.render_factor:
        meta["render_factor"] = str(a.render_factor)
        config["render_factor"] = a.render_factor

    def setting(key: str, value: object) -> None:
        """An inference default: both networks read their config, DeOldify its metadata."""
        config[key] = value
        if meta.get("format") == "deoldify":
            meta[key] = str(value)

    if a.passes:
        setting("passes", a.passes)
    if a.infer_size:
        config["infer_size"] = a.infer_size
    for key in ("saturation", "v_exponent"):
        value = getattr(a, key)
        if value is not None:
            if value <= 0:
                p.error(f"--{key.replace('_', '-')} must be > 0")
            setting(key, value)
    meta["config"] = json.dumps(config)
    if a.source:
        meta["source"] = a.source
    out = Path(a.out)
    save_file(sd, str(out), metadata=meta)
    if meta.get("format") == "deoldify":
        from recolor.models.deoldify import load_generator
        from recolor.train.deoldify import record_in_manifest
        model = load_generator(out, optimize=False)  # raises if it does not load
        record_in_manifest(out, meta["arch"], model.settings.render_factor,
                           meta.get("source", ""))
    print(f"{a.src} -> {out}: {meta.get('render_factor') or config.get('infer_size')}")


if __name__ == "__main__":
    main()
