"""A Shapes3D-like procedural renderer (label: "Shapes3D-like (procedural)", NOT MuJoCo's).

Factors (official order): floor hue, wall hue, object hue (0.0–0.9 in steps of 0.1), object
scale ``linspace(0.75, 1.25, 8)``, object type (cube, cylinder, sphere, capsule), camera
azimuth ``linspace(-30°, 30°, 15)``. The scene follows the 3D Shapes README GIF: a floor, two
walls meeting in a corner behind the object, sky above, one object on the floor with a shadow.

A NumPy ray-caster (planes + one primitive, Lambert shading, one fixed directional light, hard
shadows, 2×2 supersampling) runs once per *geometry* (scale × type × azimuth = 480 scenes): it
yields, per scene, a weight map per region (sky, floor, wall, object) holding the shading
averaged over each pixel's sub-samples. Colours only scale those maps, so an image is
``Σ_region weight · HSV(hue_region, 1, 1)`` (the sky keeps one fixed colour): all 480,000
images follow from 480 ray-cast scenes by one einsum, vectorised over the batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iclr.methods.indomain.factors import SHAPES3D

SIZE = 64
SUPERSAMPLE = 2
SCALES = np.linspace(0.75, 1.25, 8)
AZIMUTHS = np.deg2rad(np.linspace(-30.0, 30.0, 15))
HUES = np.linspace(0.0, 0.9, 10)
SKY = np.array([0.62, 0.88, 0.98])
LIGHT = np.array([0.55, 0.75, 0.35]) / np.linalg.norm([0.55, 0.75, 0.35])
WALL_DISTANCE, WALL_HEIGHT = 3.0, 2.4
AMBIENT, SHADOW = 0.45, 0.45
VERSION = "v1"


def hsv_rgb(hue: np.ndarray) -> np.ndarray:
    """(..., 3) RGB of fully saturated, full-value hues in [0, 1)."""
    h = np.asarray(hue)[..., None] * 6
    rgb = np.abs((h + np.array([0.0, 4.0, 2.0])) % 6 - 3) - 1
    return np.clip(rgb, 0, 1)


def _camera_rays(azimuth: float) -> tuple[np.ndarray, np.ndarray]:
    """Origin (3,) and unit directions (H·W·S², 3) of the pinhole camera at ``azimuth``."""
    angle = np.pi / 4 + azimuth  # 0 azimuth looks straight into the corner
    origin = np.array([3.6 * np.sin(angle), 1.3, 3.6 * np.cos(angle)])
    forward = np.array([0.0, 0.75, 0.0]) - origin
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    n = SIZE * SUPERSAMPLE
    coords = (np.arange(n) + 0.5) / n * 2 - 1  # [-1, 1], pixel centres
    half = np.tan(np.deg2rad(27.0))
    px, py = np.meshgrid(coords * half, -coords * half)
    directions = forward + px[..., None] * right + py[..., None] * up
    directions = directions.reshape(-1, 3)
    return origin, directions / np.linalg.norm(directions, axis=1, keepdims=True)


def _sphere(o: np.ndarray, d: np.ndarray, centre: np.ndarray, radius: float):
    """Nearest positive hit distance (inf if none) and normal of rays o + t·d on a sphere."""
    oc = o - centre
    b = np.sum(oc * d, axis=-1)
    c = np.sum(oc * oc, axis=-1) - radius**2
    disc = b * b - c
    t = np.where(disc >= 0, -b - np.sqrt(np.maximum(disc, 0)), np.inf)
    t = np.where(t > 1e-6, t, np.inf)
    normal = (o + t[..., None] * d - centre) / radius
    return t, normal


def _cylinder(o: np.ndarray, d: np.ndarray, radius: float, y0: float, y1: float, caps: bool):
    """Hit distance and normal of a vertical cylinder on the y axis between heights y0..y1."""
    a = d[..., 0] ** 2 + d[..., 2] ** 2
    b = o[..., 0] * d[..., 0] + o[..., 2] * d[..., 2]
    c = o[..., 0] ** 2 + o[..., 2] ** 2 - radius**2
    disc = b * b - a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
    y = o[..., 1] + t * d[..., 1]
    t = np.where((t > 1e-6) & (y >= y0) & (y <= y1), t, np.inf)
    p = o + np.where(np.isfinite(t), t, 0)[..., None] * d
    normal = np.stack([p[..., 0], np.zeros_like(t), p[..., 2]], axis=-1) / radius
    if caps:
        with np.errstate(divide="ignore", invalid="ignore"):
            tc = (y1 - o[..., 1]) / d[..., 1]
        pc = o + np.where(np.isfinite(tc), tc, 0)[..., None] * d
        hit = (tc > 1e-6) & (pc[..., 0] ** 2 + pc[..., 2] ** 2 <= radius**2) & (tc < t)
        t = np.where(hit, tc, t)
        normal = np.where(hit[..., None], np.array([0.0, 1.0, 0.0]), normal)
    return t, normal


def _box(o: np.ndarray, d: np.ndarray, half: float):
    """Hit distance and normal of the axis-aligned cube [-h, h] × [0, 2h] × [-h, h] (slabs)."""
    lo, hi = np.array([-half, 0.0, -half]), np.array([half, 2 * half, half])
    with np.errstate(divide="ignore", invalid="ignore"):
        t0, t1 = (lo - o) / d, (hi - o) / d
    near, far = np.minimum(t0, t1), np.maximum(t0, t1)
    t_near, t_far = near.max(axis=-1), far.min(axis=-1)
    t = np.where((t_near <= t_far) & (t_near > 1e-6), t_near, np.inf)
    axis = near.argmax(axis=-1)
    normal = np.zeros(d.shape)
    np.put_along_axis(
        normal, axis[..., None], -np.sign(np.take_along_axis(d, axis[..., None], -1)), -1
    )
    return t, normal


def _object(o: np.ndarray, d: np.ndarray, kind: int, scale: float):
    """Hit distance and normal of object ``kind`` (cube, cylinder, sphere, capsule)."""
    r = 0.5 * scale
    if kind == 0:
        return _box(o, d, 0.45 * scale)
    if kind == 1:
        return _cylinder(o, d, 0.45 * scale, 0.0, 0.9 * scale, caps=True)
    if kind == 2:
        return _sphere(o, d, np.array([0.0, r, 0.0]), r)
    radius, body = 0.4 * scale, 0.9 * scale
    t, n = _cylinder(o, d, radius, radius, radius + body, caps=False)
    for centre_y in (radius, radius + body):
        ts, ns = _sphere(o, d, np.array([0.0, centre_y, 0.0]), radius)
        closer = ts < t
        t, n = np.where(closer, ts, t), np.where(closer[..., None], ns, n)
    return t, n


def scene_weights(kind: int, scale: float, azimuth: float) -> np.ndarray:
    """(4, 64, 64) float32: per region (sky, floor, wall, object) the pixel's mean shading."""
    o, d = _camera_rays(azimuth)
    n_rays = len(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(d[:, 1] < 0, -o[1] / d[:, 1], np.inf)
        t_wx = np.where(d[:, 0] < 0, (-WALL_DISTANCE - o[0]) / d[:, 0], np.inf)
        t_wz = np.where(d[:, 2] < 0, (-WALL_DISTANCE - o[2]) / d[:, 2], np.inf)
    wall_y = lambda t: o[1] + t * d[:, 1]  # noqa: E731
    t_wx = np.where(wall_y(t_wx) <= WALL_HEIGHT, t_wx, np.inf)
    t_wz = np.where(wall_y(t_wz) <= WALL_HEIGHT, t_wz, np.inf)
    t_obj, n_obj = _object(o[None], d, kind, scale)
    ts = np.stack([np.full(n_rays, 1e9), t_floor, np.minimum(t_wx, t_wz), t_obj])
    region = ts.argmin(axis=0)
    t_hit = ts[region, np.arange(n_rays)]
    normal = np.where(
        (region == 1)[:, None],
        [0.0, 1.0, 0.0],
        np.where((t_wx < t_wz)[:, None], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]),
    )
    normal = np.where((region == 3)[:, None], n_obj, normal)
    shade = AMBIENT + (1 - AMBIENT) * np.clip(normal @ LIGHT, 0, 1)
    # hard shadow: does the ray from the hit point towards the light meet the object?
    point = o + np.where(np.isfinite(t_hit), t_hit, 0)[:, None] * d
    t_shadow, _ = _object(point + 1e-4 * normal, np.broadcast_to(LIGHT, point.shape), kind, scale)
    shade = np.where((region != 3) & np.isfinite(t_shadow), shade * SHADOW, shade)
    shade = np.where(region == 0, 1.0, shade)
    n = SIZE * SUPERSAMPLE
    weights = np.zeros((4, n * n))
    weights[region, np.arange(n_rays)] = shade
    weights = weights.reshape(4, SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(2, 4))
    return weights.astype(np.float32)


class Shapes3DRenderer:
    """Renders Shapes3D-like images by flat grid index from scene weight maps, ray-casting each
    of the 480 scenes the first time an image needs it; with ``folder``, the complete set is
    cached there (``fill()`` or once every scene has been used)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.path = Path(folder) / f"scenes-{VERSION}.npy" if folder is not None else None
        shape = (len(SCALES), 4, len(AZIMUTHS))
        if self.path is not None and self.path.exists():
            self.weights = np.load(self.path).astype(np.float32)
            self.done = np.ones(shape, dtype=bool)
        else:
            self.weights = np.zeros((*shape, 4, SIZE, SIZE), dtype=np.float32)
            self.done = np.zeros(shape, dtype=bool)

    def _ensure(self, scale: np.ndarray, kind: np.ndarray, azimuth: np.ndarray) -> None:
        """Ray-cast the scenes of these (scale, type, azimuth) indices that are still missing."""
        needed = np.unique(np.stack([scale, kind, azimuth], axis=1), axis=0)
        for i, k, a in needed[~self.done[tuple(needed.T)]]:
            self.weights[i, k, a] = scene_weights(int(k), SCALES[i], AZIMUTHS[a])
            self.done[i, k, a] = True
        if self.path is not None and self.done.all() and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{np.random.randint(1 << 30)}.tmp.npy")
            np.save(tmp, self.weights.astype(np.float16))
            tmp.replace(self.path)

    def fill(self) -> None:
        """Ray-cast (and cache) every scene."""
        grid = np.indices(self.done.shape).reshape(3, -1)
        self._ensure(*grid)

    def images(self, flat: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """(N, 3, 64, 64) uint8 RGB images of flat grid indices."""
        labels = SHAPES3D.unravel(flat)
        out = np.empty((len(labels), 3, SIZE, SIZE), dtype=np.uint8)
        for start in range(0, len(labels), chunk):
            lab = labels[start : start + chunk]
            self._ensure(lab[:, 3], lab[:, 4], lab[:, 5])
            w = self.weights[lab[:, 3], lab[:, 4], lab[:, 5]]  # (n, 4, H, W)
            colours = np.stack(
                [
                    np.broadcast_to(SKY, (len(lab), 3)),
                    hsv_rgb(HUES[lab[:, 0]]),
                    hsv_rgb(HUES[lab[:, 1]]),
                    hsv_rgb(HUES[lab[:, 2]]),
                ],
                axis=1,
            ).astype(np.float32)  # (n, 4 regions, 3)
            image = np.einsum("nrhw,nrc->nchw", w, colours)
            out[start : start + len(lab)] = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
        return out
