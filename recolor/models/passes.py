"""Test-time averaging for the two networks: which predictions to average for one photo.

A network's colour for a photo depends a little on how the photo is framed: mirrored, or seen
at a slightly different working size. Averaging a few such predictions keeps what they agree on
and damps what is a guess: steadier colour for proportionally more time.
"""
from __future__ import annotations

PASSES = (1, 2, 4)  # what a ``passes`` option accepts


def pass_plan(size: int, passes: int, step: int, smallest: int = 1) -> list[tuple[int, bool]]:
    """(working size, mirrored) of each prediction to average: 1, the photo once; 2, the photo
    and its mirror image; 4, both at ``size - step`` (not below ``smallest``) and ``size + step``."""
    if passes not in PASSES:
        raise ValueError(f"passes must be one of {', '.join(map(str, PASSES))}, got {passes}")
    sizes = [size] if passes < 4 else [max(smallest, size - step), size + step]
    return [(s, mirrored) for s in sizes for mirrored in ((False, True) if passes > 1
                                                          else (False,))]


def check_settings(passes: int, saturation: float, v_exponent: float) -> None:
    """The settings both networks share, checked (a ValueError names the bad one): ``passes``
    one of PASSES, ``saturation`` (the colour gain: 0 gray, 1 the network's own colour, above 1
    stronger) at least 0, ``v_exponent`` (V's gain is the saturation to this power) above 0."""
    if passes not in PASSES:
        raise ValueError(f"passes must be one of {', '.join(map(str, PASSES))}, got {passes}")
    if not saturation >= 0:
        raise ValueError(f"saturation must be >= 0 (0: gray), got {saturation}")
    if not v_exponent > 0:
        raise ValueError(f"v_exponent must be > 0, got {v_exponent}")
