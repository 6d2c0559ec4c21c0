"""A procedural re-render of the dSprites grid (label: "dSprites-like (re-rendered)").

Grid: shape 3 (square, ellipse, heart) × scale ``linspace(0.5, 1, 6)`` × orientation
``linspace(0, 2π, 40)`` (inclusive: the first and last render the same) × posX × posY
``linspace(0, 1, 32)``, 64×64 binary, C-order with posY fastest, as the original .npz.

Pixel test (calibrated on the 320 genuine frames of the dSprites README GIF): take the pixel
centre (0-based, x = column, y = row, y down), subtract the centre ``15.5 + 32·pos`` per axis,
rotate by -θ, divide by the scale, and test membership of the canonical shape (px units):

- square: ``|u| <= 10 and |v| <= 10`` (sides 10, 12, ..., 20 px, exact);
- ellipse: ``(u/13)² + (v/7)² <= 1``, long axis horizontal at θ = 0;
- heart: with ``v' = v - 0.5``, the union of the diamond ``|u| + |v'| <= 8.25`` and two discs of
  radius 5.5 at ``(±4.125, -4.125)``: lobes up, tip down at θ = 0.

Rotation sense (the GIF does not fix it): a positive θ turns the shape counter-clockwise as
seen on screen (y down), i.e. the canonical coordinates are ``u = c·dx - s·dy``,
``v = s·dx + c·dy`` with (c, s) = (cos θ, sin θ).
"""

from __future__ import annotations

import numpy as np

from iclr.methods.indomain.factors import DSPRITES

SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)
SIZE = 64
_EPS = 1e-9  # boundary pixels of the exact squares are inside despite rounding


def _inside(shape: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Membership of canonical coordinates (N, H, W) in each image's shape (N,) ∈ {0, 1, 2}."""
    shape = shape[:, None, None]
    square = (np.abs(u) <= 10 + _EPS) & (np.abs(v) <= 10 + _EPS)
    ellipse = (u / 13) ** 2 + (v / 7) ** 2 <= 1 + _EPS
    vv = v - 0.5
    heart = (np.abs(u) + np.abs(vv) <= 8.25) | (
        (np.abs(u) - 4.125) ** 2 + (vv + 4.125) ** 2 <= 5.5**2
    )
    return np.where(shape == 0, square, np.where(shape == 1, ellipse, heart))


def render_labels(labels: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """(N, 64, 64) uint8 {0, 1} images of (N, 5) factor indices (shape, scale, orient., x, y)."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1, 5)
    out = np.empty((len(labels), SIZE, SIZE), dtype=np.uint8)
    grid = np.arange(SIZE, dtype=np.float32)
    for start in range(0, len(labels), chunk):
        lab = labels[start : start + chunk]
        theta = ORIENTATIONS[lab[:, 2]]
        c = np.cos(theta).astype(np.float32)[:, None, None]
        s = np.sin(theta).astype(np.float32)[:, None, None]
        scale = SCALES[lab[:, 1]].astype(np.float32)[:, None, None]
        cx = (15.5 + 32 * POSITIONS[lab[:, 3]]).astype(np.float32)[:, None, None]
        cy = (15.5 + 32 * POSITIONS[lab[:, 4]]).astype(np.float32)[:, None, None]
        dx = grid[None, None, :] - cx  # column offset, broadcast over rows
        dy = grid[None, :, None] - cy  # row offset, broadcast over columns
        u = (c * dx - s * dy) / scale
        v = (s * dx + c * dy) / scale
        out[start : start + len(lab)] = _inside(lab[:, 0], u, v)
    return out


def render_indices(flat: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """(N, 64, 64) uint8 images of flat grid indices."""
    return render_labels(DSPRITES.unravel(flat), chunk)
