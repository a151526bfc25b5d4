"""Placement of point labels without overlaps."""

from __future__ import annotations

import numpy as np


def spread_positions(preferred: np.ndarray, min_gap: float, low: float, high: float) -> np.ndarray:
    """Move 1-D label positions apart so that neighbours are at least ``min_gap`` apart.

    Labels keep their order; each is moved as little as the gap allows, and
    all stay inside [low, high] where the range has room for them.

    Parameters
    ----------
    preferred : numpy.ndarray, float, shape (n_labels,)
        Preferred positions (data coordinates).
    """
    order = np.argsort(preferred, kind="stable")
    placed = np.asarray(preferred, dtype=float)[order].copy()
    for index in range(1, len(placed)):
        placed[index] = max(placed[index], placed[index - 1] + min_gap)
    overflow = placed[-1] - high if len(placed) else 0.0
    if overflow > 0:
        placed -= overflow
        for index in range(len(placed) - 2, -1, -1):
            placed[index] = min(placed[index], placed[index + 1] - min_gap)
        placed = np.maximum(placed, low) if placed[0] < low else placed
    result = np.empty_like(placed)
    result[order] = placed
    return result
