"""Bit-packed, lazily filled cache of the dSprites-like grid in the data root.

The full grid is 737,280 binary 64×64 images: 3 GB as uint8, 360 MiB bit-packed (512 bytes per
image). ``images(flat)`` renders only the requested images that are not cached yet, writes them
into a memory-mapped ``grid.bits`` (a sparse file until filled) and marks them in
``rendered.npy``; ``fill()`` renders the rest. Rendering is deterministic, so two jobs that
render the same image write the same bytes; a lost mark only costs a re-render.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iclr.methods.indomain.factors import DSPRITES
from iclr.methods.indomain.render_dsprites import SIZE, render_indices

ROW_BYTES = SIZE * SIZE // 8
VERSION = "v1"  # bump when the renderer's output changes, so stale caches are not reused


class PackedGridCache:
    """The dSprites-like grid as bit-packed rows in ``folder``, rendered on demand."""

    def __init__(self, folder: Path, chunk: int = 8192) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.total = DSPRITES.total
        self.chunk = chunk
        self.bits_path = self.folder / f"grid-{VERSION}.bits"
        self.mask_path = self.folder / f"rendered-{VERSION}.npy"
        if not self.bits_path.exists():
            with self.bits_path.open("wb") as handle:
                handle.truncate(self.total * ROW_BYTES)
        self.bits = np.memmap(self.bits_path, np.uint8, "r+", shape=(self.total, ROW_BYTES))
        self.rendered = (
            np.load(self.mask_path) if self.mask_path.exists() else np.zeros(self.total, bool)
        )

    def _render(self, flat: np.ndarray) -> None:
        for start in range(0, len(flat), self.chunk):
            part = flat[start : start + self.chunk]
            images = render_indices(part)
            self.bits[part] = np.packbits(images.reshape(len(part), -1), axis=1)
        self.rendered[flat] = True
        self.bits.flush()
        # merge with marks other jobs may have written meanwhile, then replace atomically
        if self.mask_path.exists():
            self.rendered |= np.load(self.mask_path)
        tmp = self.mask_path.with_suffix(f".{np.random.randint(1 << 30)}.tmp.npy")
        np.save(tmp, self.rendered)
        tmp.replace(self.mask_path)

    def images(self, flat: np.ndarray) -> np.ndarray:
        """(N, 1, 64, 64) uint8 {0, 1} images of flat grid indices (rendering missing ones)."""
        flat = np.asarray(flat, dtype=np.int64)
        missing = np.unique(flat[~self.rendered[flat]])
        if len(missing):
            self._render(missing)
        packed = self.bits[flat]
        return np.unpackbits(packed, axis=1).reshape(len(flat), 1, SIZE, SIZE)

    def fill(self) -> int:
        """Render every image not cached yet; returns how many were rendered."""
        missing = np.flatnonzero(~self.rendered)
        if len(missing):
            self._render(missing)
        return len(missing)
