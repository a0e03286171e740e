"""Network interpolation of two checkpoints of one generator, spectral-norm layers included."""
from __future__ import annotations

import torch


def blend(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], alpha: float
          ) -> dict[str, torch.Tensor]:
    """Network interpolation (ESRGAN's): ``(1 - alpha) * a + alpha * b`` for every float
    tensor of two checkpoints of one generator (e.g. the L1-pretrained one and the GAN one),
    a knob between accuracy and colourfulness without retraining. Both trainers' files use it
    (`recolor.train.pix2pix --blend`, `scripts/retune_weights.py --blend`).

    Spectral-norm layers (``weight_orig``/``weight_u``/``weight_v``, as in DeOldify) are blended
    by their effective weights instead: the power-iteration vectors ``u``, ``v`` of two networks
    can point opposite ways, and averaging them shrinks the sigma that inference divides by
    (a blend of two DeOldify files made so had a layer 2.4x too strong). See `_blend_spectral`."""
    if a.keys() != b.keys():
        raise ValueError("the two checkpoints are not of the same generator")
    out = {k: torch.lerp(v.float(), b[k].float(), alpha).to(v.dtype) if v.is_floating_point()
           else b[k] for k, v in a.items()}
    for prefix in (k[:-len("orig")] for k in a if k.endswith("weight_orig")):
        if prefix + "u" in a and prefix + "v" in a:
            out.update(_blend_spectral(a, b, prefix, alpha))
    return out


def _blend_spectral(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], prefix: str,
                    alpha: float) -> dict[str, torch.Tensor]:
    """One spectral-norm layer: lerp the two effective weights W / sigma (sigma = u . W v from
    each file's stored vectors, as in eval mode), store that as ``weight_orig`` with its exact
    top singular vectors as ``u``, ``v``, so the blend is spectrally normalised as well."""
    def effective(sd: dict[str, torch.Tensor]) -> torch.Tensor:
        w = sd[prefix + "orig"].float()
        m = w.reshape(w.shape[0], -1)
        return w / torch.dot(sd[prefix + "u"].float(), m @ sd[prefix + "v"].float())

    w = torch.lerp(effective(a), effective(b), alpha)
    u, _, vh = torch.linalg.svd(w.reshape(w.shape[0], -1), full_matrices=False)
    dtype = a[prefix + "orig"].dtype
    return {prefix + "orig": w.to(dtype), prefix + "u": u[:, 0].to(dtype),
            prefix + "v": vh[0].to(dtype)}
