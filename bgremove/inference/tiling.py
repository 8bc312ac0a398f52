"""Full-resolution masks from a model trained at a few hundred pixels.

Images up to `threshold` x the input size, which by default includes a
1600x1200 catalog photo: one pass at the model's input size, the mask upsampled bilinearly.

Larger images: a global pass at the input size decides what is object; tiled passes at higher
resolutions redraw the edges. Resolution doubles per level (e.g. 320 -> ~700 -> ~1500 px long
side; by default one level, to ~550) up to a working resolution, and each level only changes,
within a band around the coarser estimate's uncertain pixels and 0.5 contour, what that
estimate drew; with a smooth hand-over at the band's edge. Tiles that do not touch the band
never run: on a product shot that skips the empty background and the object's interior, and
keeps tiles that see only the inside of a big plain object (which a model trained on whole
objects may call background) from punching holes.

A tile that sees too little context can also redraw the object wrongly inside the band. So each
tile is compared with the coarser estimate and down-weighted when it disagrees beyond `gate`
(see predict_tiled); doubling per level keeps that reference close enough to judge by. With
U2-Net-p on DAVIS frames upscaled 2.5x, ungated 4x tiles dropped IoU from 0.77 to 0.45; gated,
tiles kept or slightly improved it (0.775-0.778).

Tiles overlap and are blended with a flat-top raised-cosine window that never reaches 0,
normalised by the summed weights, so there are no seams. Tile offsets are multiples of the
model's stride, so overlapping tiles see the same feature grid. The working resolution is capped
by area, so memory is bounded: besides the input, only the final upsampling touches full
resolution (one float32 plane).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from bgremove.errors import ConfigError
from bgremove.inference.mirror import mirror_busy
from bgremove.inference.preprocess import Preprocessing, resize_mask, round_up
from bgremove.inference.pyramid import Pyramid, shrink
from bgremove.inference.tta import PredictFn, Transform, tta_predict

_MIN_REFERENCE_SIDE = 64  # px: below this a coarse estimate's features span its whole height


@dataclass(frozen=True)
class TileConfig:
    """Tiled refinement settings.

    tile_size: tile side in working pixels; None = the model's input size, the scale it was
        trained at.
    overlap: fraction of a tile shared with its neighbour. 0.25 leaves a blend zone wide enough
        to hide border effects (a CNN's outer ~16 px see padding) for ~1.8x the tiles of none.
    threshold: refine only when the long side exceeds threshold x input size; up to there the
        global mask is upsampled on its own, as rembg does at any size. Refining is what makes an image
        expensive: at 1.5x it costs up to 4 model calls where the global pass costs one (a
        1600x1200 catalog photo, 5x a 320 input, went from ~30 calls at the former 1.5 / 4x
        defaults to 1). Measured with U2-Net-p on catalog-size photos (DAVIS/CCP frames upscaled to
        1600x1200 and 4000x3000), refining did not improve IoU or boundary error; at native
        resolution (854x480, 550x830, which 6 no longer refines either) one level cut the mean
        boundary error by ~5% for IoU +0.003. 6: a 4000x3000 photo (12.5x) is still refined, to
        about the resolution a 1600x1200 one gets from its global pass. 1.5 with max_scale=4 is
        the former behaviour (below 1.5x the upsampled global mask is within a pixel or two of
        what tiles give).
    max_side, max_scale: the working resolution has at most side**2 pixels, side =
        min(max_side, max_scale x input size) (an area cap, so panoramas keep their height).
        1.5x: one refinement level, at most 4 tiles for a 4:3 photo (554x416: 2 x 2). Against
        the former 2x (739x554: 3 x 2 tiles), with the bundled model on val photos upscaled to
        4000x3000 (20 per set, bench/bench_refine_quality.py), the mask took ~0.7x the CPU
        time for about the same quality: ccp and davis equal or better in every figure,
        viton-cloth's boundary F 0.004 lower and MAE 0.0003 higher. IoU ccp / davis /
        viton-cloth 0.9529 / 0.7327 / 0.9954 (2x: 0.9524 / 0.7300 / 0.9951; no refinement:
        0.9512 / 0.7246 / 0.9952), MAE 0.0236 / 0.0344 / 0.0193 (2x: 0.0242 / 0.0347 /
        0.0190), boundary F 0.890 / 0.602 / 0.977 (2x: 0.889 / 0.599 / 0.981). One pass
        over the whole 1.5x image instead of tiles was better on davis (IoU 0.737) but worse
        on viton-cloth (boundary F 0.957); one pass at 2x was no cheaper than its tiles.
        (4x: two levels, ~30 tiles, and with U2-Net-p no better than 2x: IoU 0.971 vs 0.972,
        boundary error 0.112 vs 0.110 on 4000x3000.) 4x is still a safe maximum: a 320 px
        tile sees about a quarter of the image, enough context for gated tiles; beyond that
        most tiles are rejected. 2048 bounds time and memory for models with a large input
        size.
    band: half-width of the refined zone as a fraction of the long side (2%: where a 320 px
        mask can misplace an edge); the zone fades out over a second half-width.
    gate: (start, end) of the tile down-weighting by mean |tile - reference| (see
        predict_tiled): tiles under 0.04 were better than the reference ~80% of the time,
        tiles over 0.1 worse 80-100% of the time (U2-Net-p, DAVIS).
    batch_size: tiles per model call.
    """

    tile_size: int | None = None
    overlap: float = 0.25
    threshold: float = 6.0
    max_side: int = 2048
    max_scale: float = 1.5
    band: float = 0.02
    gate: tuple[float, float] = (0.04, 0.08)
    batch_size: int = 4

    def __post_init__(self) -> None:
        if not 0.0 <= self.overlap < 0.9:
            raise ConfigError(f"tile overlap must be a fraction in [0, 0.9): {self.overlap}")
        if self.tile_size is not None and self.tile_size < 32:
            raise ConfigError(f"tile size must be at least 32 pixels: {self.tile_size}")
        if min(self.threshold, self.max_scale) < 1.0:
            raise ConfigError("tile threshold and max_scale must be >= 1")
        if self.band <= 0 or self.batch_size < 1:
            raise ConfigError("tile band and batch size must be > 0")


def predict_masks(
    predict: PredictFn,
    images: Sequence[np.ndarray],
    pre: Preprocessing,
    cfg: TileConfig = TileConfig(),  # noqa: B008 - frozen dataclass, safe as a default
    tforms: Sequence[Transform] = (),
    refine_predict: PredictFn | None = None,
    mirror_level: float = 0.0,
) -> list[np.ndarray]:
    """HW float32 probabilities at each image's full resolution.

    The global passes of all images go to `predict` together (one batch where shapes agree);
    the refinement's tiles go to `refine_predict` (default: `predict`). mirror_level > 0: a
    global pass whose backdrop is at least that busy is averaged with its mirror view's
    (bgremove.inference.mirror), at the global pass's size and before any refinement, so the
    second opinion costs one network call at the input size whatever the photo's size.
    """
    pyramids = [Pyramid(im) for im in images]  # the refinement shrinks from the same halvings
    small = [global_view(p, pre) for p in pyramids]
    globals_ = tta_predict(predict, small, tforms)
    if not tforms:  # --tta's views mirror every photo already
        mirror_busy(predict, small, globals_, mirror_level)
    del small
    return [_refine(refine_predict or predict, p, g, pre, cfg, tforms)
            for p, g in zip(pyramids, globals_, strict=True)]


def global_view(image: np.ndarray | Pyramid, pre: Preprocessing) -> np.ndarray:
    """The HWC uint8 image the global pass predicts on: the whole photo at the model's size."""
    pyramid = image if isinstance(image, Pyramid) else Pyramid(image)
    return shrink(pyramid, *pre.global_size(*pyramid.image.shape[:2]), pre.resample)


def predict_mask(
    predict: PredictFn,
    rgb: np.ndarray,
    pre: Preprocessing,
    cfg: TileConfig = TileConfig(),  # noqa: B008 - frozen dataclass, safe as a default
    tforms: Sequence[Transform] = (),
) -> np.ndarray:
    """HW float32 probability at rgb's full resolution."""
    return predict_masks(predict, [rgb], pre, cfg, tforms)[0]


def _refine(predict, pyramid: Pyramid, g, pre: Preprocessing, cfg: TileConfig, tforms
            ) -> np.ndarray:
    h, w = pyramid.image.shape[:2]
    input_size, multiple = pre.input_size, pre.multiple
    wh, ww = working_size(h, w, input_size, cfg)
    if max(h, w) <= cfg.threshold * input_size or max(wh, ww) <= input_size:
        return _clip01(resize_mask(g, h, w, pre.resample))
    tile = round_up(cfg.tile_size or input_size, multiple)
    cur = g
    for lh, lw in _levels(g.shape, (wh, ww)):
        work = shrink(pyramid, lh, lw)
        ref = resize_mask(cur, lh, lw)
        band = resize_mask(uncertainty_band(cur, cfg.band * max(cur.shape)), lh, lw)
        # A reference only a few pixels tall (a panorama's global pass) cannot judge tiles.
        trusted = min(cur.shape) >= _MIN_REFERENCE_SIDE
        p_t, cover = predict_tiled(predict, work, tile, cfg.overlap, multiple, band > 0,
                                   tforms, cfg.batch_size, ref if trusted else None, cfg.gate)
        band *= cover  # 0 where no tile ran or every tile there was rejected
        ref += band * (p_t - ref)
        cur = ref
        del p_t, cover, band, work
    return _clip01(resize_mask(cur, h, w))


def _levels(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """Sizes from just above `start` to `end`, each about twice the previous: every level's
    tiles are checked against a reference only one zoom step coarser."""
    ratio = max(end) / max(start)
    n = max(1, round(math.log2(ratio)))
    sizes = [(round(end[0] * ratio ** (k / n - 1)), round(end[1] * ratio ** (k / n - 1)))
             for k in range(1, n)]
    return [(max(1, a), max(1, b)) for a, b in sizes] + [end]


def _clip01(m: np.ndarray) -> np.ndarray:
    return np.clip(m, 0.0, 1.0, out=m)


def working_size(h: int, w: int, input_size: int, cfg: TileConfig) -> tuple[int, int]:
    """The refinement resolution: at most side**2 pixels, side = min(max_side, max_scale x
    input_size), never larger than the image. An area cap rather than a long-side cap, so a
    7000 x 300 panorama keeps a usable height; past an aspect ratio of max_scale**2 the short
    side is still kept at input_size (full-height tiles), for at most 16x the area."""
    side = min(cfg.max_side, cfg.max_scale * input_size)
    s = side / math.sqrt(h * w)
    s = min(1.0, max(s, min(min(input_size, cfg.max_side) / min(h, w), 4.0 * s)))
    return max(1, round(h * s)), max(1, round(w * s))


def uncertainty_band(
    g: np.ndarray, radius: float, lo: float = 0.05, hi: float = 0.95
) -> np.ndarray:
    """1 within `radius` px of an unsure pixel or the 0.5 contour of g, 0 beyond 2 x radius."""
    fg = (g >= 0.5).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    contour = cv2.dilate(fg, kernel) != cv2.erode(fg, kernel)
    seed = contour | ((g > lo) & (g < hi))
    if not seed.any():
        return np.zeros(g.shape, np.float32)
    dist = cv2.distanceTransform((~seed).astype(np.uint8), cv2.DIST_L2, 3)
    r = max(radius, 1.0)
    return np.clip((2.0 * r - dist) / r, 0.0, 1.0).astype(np.float32)


def tile_grid(h: int, w: int, tile: int, overlap: float, align: int = 1) -> list[tuple[int, int]]:
    """Top-left corners of tiles covering an h x w image; all but the last in a row are aligned."""
    return [(y, x) for y in _positions(h, tile, overlap, align)
            for x in _positions(w, tile, overlap, align)]


def _positions(length: int, tile: int, overlap: float, align: int) -> list[int]:
    if length <= tile:
        return [0]
    stride = max(align, int(tile * (1.0 - overlap)) // align * align)
    n = math.ceil((length - tile) / stride) + 1
    pos = sorted({min(i * stride, length - tile) for i in range(n)})
    # The last tile is flush with the end; the one before it is redundant when its neighbours
    # overlap enough without it (554 px, tile 320: 0, 224, 234 -> 0, 234; a 4:3 photo's 2x
    # level then takes 3 x 2 tiles instead of 3 x 3).
    if len(pos) >= 3 and pos[-1] - pos[-3] <= tile - math.ceil(tile * overlap):
        del pos[-2]
    return pos


@functools.lru_cache(maxsize=16)
def blend_window(th: int, tw: int, ramp: int) -> np.ndarray:
    """Flat-top window: 1 inside, raised-cosine ramps `ramp` px wide at each edge, never 0.
    Cached (tiles mostly share one shape), hence read-only."""
    win = np.outer(_ramp_1d(th, ramp), _ramp_1d(tw, ramp)).astype(np.float32)
    win.flags.writeable = False
    return win


def _ramp_1d(n: int, ramp: int) -> np.ndarray:
    x = np.arange(n, dtype=np.float64) + 0.5
    r = max(1, min(ramp, n // 2))
    edge = np.minimum(x, n - x) / r  # half-pixel offset keeps the outermost weight above 0
    return np.where(edge >= 1.0, 1.0, np.sin(0.5 * np.pi * np.minimum(edge, 1.0)) ** 2)


def predict_tiled(
    predict: PredictFn,
    img: np.ndarray,
    tile: int,
    overlap: float,
    align: int = 1,
    select: np.ndarray | None = None,
    tforms: Sequence[Transform] = (),
    batch_size: int = 4,
    reference: np.ndarray | None = None,
    gate: tuple[float, float] = (0.04, 0.08),
) -> tuple[np.ndarray, np.ndarray]:
    """(blended probability, coverage) over tiles; only tiles where `select` is True run.

    With a `reference` (the coarser estimate at this size), a tile whose mean |tile - reference|
    over its selected pixels exceeds gate[0] is down-weighted, linearly to 0 at gate[1]: a tile
    that redraws the object instead of its edges lacked context (measured with U2-Net-p on DAVIS
    at 2-4x zoom: tiles past 0.1 were worse than the reference 80-100% of the time). coverage is
    the accepted share of tile weight per pixel in [0, 1]; 0 (and probability 0) where no tile ran.
    """
    h, w = img.shape[:2]
    ramp = max(1, round(tile * overlap))
    acc_p = np.zeros((h, w), np.float32)
    acc_w = np.zeros((h, w), np.float32)
    acc_all = np.zeros((h, w), np.float32)
    corners = [(y, x) for y, x in tile_grid(h, w, tile, overlap, align)
               if select is None or select[y : y + tile, x : x + tile].any()]
    for k in range(0, len(corners), batch_size):
        chunk = corners[k : k + batch_size]
        tiles = [img[y : y + tile, x : x + tile] for y, x in chunk]
        for (y, x), p in zip(chunk, tta_predict(predict, tiles, tforms), strict=True):
            th, tw = p.shape
            sl = (slice(y, y + th), slice(x, x + tw))
            win = blend_window(th, tw, ramp)
            acc_all[sl] += win
            if reference is not None:
                win = win * _agreement(p, reference[sl], None if select is None else select[sl],
                                       gate)
            acc_p[sl] += p * win
            acc_w[sl] += win
    np.divide(acc_p, acc_w, out=acc_p, where=acc_w > 0)
    np.divide(acc_w, acc_all, out=acc_w, where=acc_all > 0)
    return acc_p, acc_w


def _agreement(p: np.ndarray, ref: np.ndarray, where: np.ndarray | None, gate) -> float:
    diff = np.abs(p - ref)
    d = float(diff[where].mean()) if where is not None and where.any() else float(diff.mean())
    return float(np.clip((gate[1] - d) / (gate[1] - gate[0]), 0.0, 1.0))

