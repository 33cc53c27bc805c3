"""The one colour scale of every review picture: viridis over a square-root probability scale.

Policy probabilities are very skewed (one point at 40%, most at 0.01%), so a linear
scale paints the whole board the same dark colour. All outputs (PNG/SVG through
matplotlib, the terminal board, the HTML page) map a probability p on a board whose
most probable point has probability p_max to `level = sqrt(p / p_max)` in [0, 1] and
then to viridis, a perceptually uniform scale that also reads in grey and for the
colour-blind. The hottest colour is always the most probable point.

The anchors below are matplotlib's viridis at 0, 1/8, ..., 1, so the terminal and the
HTML page need no matplotlib and still agree with the pictures.
"""

from __future__ import annotations

import numpy as np

CMAP = "viridis"
GAMMA = 0.5  # level = (p / p_max) ** GAMMA
VIRIDIS_ANCHORS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
                   "#28ae80", "#5ec962", "#addc30", "#fde725")
_CUBE = (0, 95, 135, 175, 215, 255)  # the xterm 256-colour cube's channel values


def levels(probs: np.ndarray, p_max: float | None = None) -> np.ndarray:
    """Return float[...] in [0, 1]: (probs / p_max) ** GAMMA, p_max defaulting to probs.max()."""
    probs = np.asarray(probs, dtype=np.float64)
    top = float(probs.max()) if p_max is None else float(p_max)
    if top <= 0.0:
        return np.zeros_like(probs)
    return np.clip(probs / top, 0.0, 1.0) ** GAMMA


def _anchor_rgb() -> np.ndarray:
    """Return float[9, 3] of the viridis anchors in 0..255."""
    return np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in VIRIDIS_ANCHORS], float)


def level_rgb(level: float) -> tuple[int, int, int]:
    """Return the (r, g, b) 0..255 of viridis at `level` in [0, 1], interpolating the anchors."""
    anchors = _anchor_rgb()
    x = min(max(float(level), 0.0), 1.0) * (len(anchors) - 1)
    lo = min(int(x), len(anchors) - 2)
    rgb = anchors[lo] + (anchors[lo + 1] - anchors[lo]) * (x - lo)
    return tuple(int(round(v)) for v in rgb)


def ansi256(rgb: tuple[int, int, int]) -> int:
    """Return the xterm 256-colour cube index (16..231) nearest to `rgb`."""
    idx = [min(range(6), key=lambda i: abs(_CUBE[i] - v)) for v in rgb]
    return 16 + 36 * idx[0] + 6 * idx[1] + idx[2]


def is_light(rgb: tuple[int, int, int]) -> bool:
    """Return True if dark text reads better than light text on `rgb` (relative luminance)."""
    r, g, b = (v / 255.0 for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45
