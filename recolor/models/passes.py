"""Test-time averaging for the two networks: which predictions to average for one photo.

A network's colour for a photo depends a little on how the photo is framed: mirrored, or seen
at a slightly different working size. Averaging a few such predictions keeps what they agree on
and damps what is a guess, which on the val photos bought more PSNR for the same
colourfulness than it cost (weights/HISTORY.md, eleventh session).
"""
from __future__ import annotations

PASSES = (1, 2, 4)  # what a ``passes`` option accepts (0 there: the weights' own)


def pass_plan(size: int, passes: int, step: int, smallest: int = 1) -> list[tuple[int, bool]]:
    """(working size, mirrored) of each prediction to average: 1, the photo once; 2, the photo
    and its mirror image; 4, both at ``size - step`` (not below ``smallest``) and ``size + step``."""
    if passes not in PASSES:
        raise ValueError(f"passes must be one of {', '.join(map(str, PASSES))} (or 0: the "
                         f"weights' own), got {passes}")
    sizes = [size] if passes < 4 else [max(smallest, size - step), size + step]
    return [(s, mirrored) for s in sizes for mirrored in ((False, True) if passes > 1
                                                          else (False,))]
