"""Foreground colour of soft edge pixels ("decontamination"): the old background's colour is
removed from pixels the mask makes semi-transparent.

Blur-fusion foreground estimation (Forte & Pitie, 'Approximate Fast Foreground Colour Estimation',
ICIP 2021), run twice: a wide window (_WIDE px) for the colours either side of the edge, then a
fine one (_FINE px). Only pixels whose 8-bit alpha is strictly between 0 and 255 change; on a
product shot that is a thin band, so the work is confined to it:

- The wide pass's box averages are smooth fields, so they are computed at 1/_SCALE resolution,
  from the _CELL-px cells within the window's reach of the band only, and sampled back
  bilinearly. The premultiplied sums are exact 16-bit products before the area downsampling:
  downsampling colour and alpha separately would mix the background into the foreground sum
  along the edge.
- The fine pass runs at full resolution on the _BLOCK-px blocks that hold soft pixels, each with a
  halo as wide as the fine window's reach. The blocks are stacked into one tall image, so every
  step is one OpenCV call for all of them; the halo keeps stacked blocks from seeing each other.

Against the whole-image full-resolution computation (the reference in tests/test_compose.py),
on catalog photos with ground-truth masks blurred to soft edges: mean difference 0.2-0.3 of 255
on the soft pixels (99th percentile 1-3), 1600x1200 ~150 ms -> ~20 ms, 4000x3000 ~410 -> ~90 ms
(one thread); a mask soft everywhere (an untrained model) ~2x faster. Peak memory on 48 MP: ~0.3
of a float32 plane. The fields are dense at 1/8 resolution: 1/4 was closer by ~0.1 of 255 on
average for 4x their memory.
"""

from __future__ import annotations

import cv2
import numpy as np

_WIDE, _FINE = 90, 6  # blur-fusion window sizes in full-resolution pixels
_SCALE = 8  # the wide pass's resolution divisor: its 90 px window is 11 px there
_BLOCK = 32  # fine-pass block side: smaller hugs the band closer, larger has less halo overhead
_CHUNK = 128  # blocks (cells) per batch: bounds the stacked float buffers (~2.5 MB each)
_CELL = 64  # wide-pass cell side: a power of 2 >= the window's reach (45 + halo + sampling)
_EPS = 1e-5


def decontaminate(rgb: np.ndarray, alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Foreground colour estimate F (HWC uint8): rgb with edge pixels' background bleed removed.

    `alpha` is HW float in [0, 1] or uint8. With `out` (HWC, may be a view such as a cutout's
    colour channels) only the changed pixels are written there; otherwise a copy of rgb is used.
    """
    out = rgb.copy() if out is None else out
    a8 = _to_u8(alpha)
    blocks = _soft_blocks(a8, _BLOCK)
    if not len(blocks):
        return out
    fields = _wide_fields(rgb, a8, blocks)
    af = None if alpha.dtype == np.uint8 else np.clip(alpha, 0.0, 1.0).astype(np.float32)
    for k in range(0, len(blocks), _CHUNK):
        _fine_pass(rgb, a8, af, fields, blocks[k : k + _CHUNK], out)
    return out


def _to_u8(alpha: np.ndarray) -> np.ndarray:
    if alpha.dtype == np.uint8:
        return alpha
    return np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _soft_blocks(a8: np.ndarray, size: int) -> np.ndarray:
    """(N, 2) block (row, col) indices of the size x size blocks holding a pixel 0 < a8 < 255."""
    h, w = a8.shape
    nbx = -(-w // size)
    rows = max(1, (1 << 21) // (w * size)) * size  # strips: no full-size temporaries at 48 MP
    flags = []
    for y0 in range(0, h, rows):
        soft = cv2.inRange(a8[y0 : y0 + rows], 1, 254)
        nby = -(-soft.shape[0] // size)
        soft = cv2.copyMakeBorder(soft, 0, nby * size - soft.shape[0], 0, nbx * size - w,
                                  cv2.BORDER_CONSTANT)
        flags.append(soft.reshape(nby, size, nbx, size).max(axis=(1, 3)))
    return np.argwhere(np.concatenate(flags))


class _Fields:
    """The wide pass's foreground and background averages at 1/scale resolution over the whole
    image; meaningless far from the soft band, where nothing reads them."""

    def __init__(self, fg: np.ndarray, bg: np.ndarray, scale: int) -> None:
        self.fg, self.bg, self.scale = fg, bg, scale


def _wide_fields(rgb: np.ndarray, a8: np.ndarray, blocks: np.ndarray) -> _Fields:
    """Box averages over the wide window, computed from _CELL-px cells: those holding soft
    blocks and their neighbours, as far as any sampled pixel's window reaches."""
    h, w = a8.shape
    s = _SCALE  # cv2.remap samples the fields only below 32767 px a side
    while max(h, w) / s >= 32000 and s < _CELL:
        s *= 2
    ncy, ncx = -(-h // _CELL), -(-w // _CELL)
    soft = np.zeros((ncy, ncx), np.uint8)
    offs = (*range(0, _BLOCK, _CELL), _BLOCK - 1)
    for oy in offs:  # every cell a block overlaps
        for ox in offs:
            soft[np.minimum((blocks[:, 0] * _BLOCK + oy) // _CELL, ncy - 1),
                 np.minimum((blocks[:, 1] * _BLOCK + ox) // _CELL, ncx - 1)] = 1
    cells = np.argwhere(cv2.dilate(soft, np.ones((3, 3), np.uint8)))  # reach <= one cell
    c = _CELL // s
    a = np.zeros((ncy * c, ncx * c), np.float32)
    fa, img = (np.zeros((ncy * c, ncx * c, 3), np.float32) for _ in range(2))
    for k in range(0, len(cells), _CHUNK):
        part = cells[k : k + _CHUNK]
        _cell_sums(_gather(rgb, part, 0, _CELL), _gather(a8, part, 0, _CELL), s, part,
                   (a, fa, img))
    box = ((_WIDE // s) | 1,) * 2  # odd, so the window stays centred
    blur_a = cv2.blur(a, box)
    fg = cv2.divide(cv2.blur(fa, box), cv2.merge([blur_a + _EPS] * 3))
    bg = cv2.divide(cv2.blur(cv2.subtract(img, fa), box), cv2.merge([1.0 + _EPS - blur_a] * 3))
    return _Fields(fg, bg, s)


def _cell_sums(rgb: np.ndarray, a8: np.ndarray, s: int, cells: np.ndarray, dst: tuple) -> None:
    """Area averages by s of alpha, colour x alpha and colour over stacked cells, written into
    the cells' places in dst. Colour x alpha is an exact 16-bit product before averaging; the
    background's share, colour x (1 - alpha), is colour minus it (the 8-bit rounding of the
    mean colour is noise)."""
    n, c = len(cells), _CELL // s
    fa = cv2.multiply(rgb, cv2.merge([a8, a8, a8]), dtype=cv2.CV_16U)
    for src, out, scale in ((a8, dst[0], 1 / 255), (fa, dst[1], 1 / 65025), (rgb, dst[2], 1 / 255)):
        x = cv2.resize(src, (c, n * c), interpolation=cv2.INTER_AREA).astype(np.float32) * scale
        st = out.strides
        view = np.lib.stride_tricks.as_strided(  # view[i, j] = cell (i, j) of out
            out, (out.shape[0] // c, out.shape[1] // c, c, c) + out.shape[2:],
            (c * st[0], c * st[1]) + st)
        view[cells[:, 0], cells[:, 1]] = x.reshape((n, c, c) + out.shape[2:])


def _fine_pass(rgb, a8, af, fields: _Fields, blocks: np.ndarray, out: np.ndarray) -> None:
    halo = _FINE // 2 + 1  # a 6 px box reaches 3 px one way, 2 the other
    img = _gather(rgb, blocks, halo).astype(np.float32) * np.float32(1.0 / 255.0)
    a8_blocks = _gather(a8, blocks, halo)
    a = _gather(af, blocks, halo) if af is not None else a8_blocks * np.float32(1.0 / 255.0)
    a3 = cv2.merge([a, a, a])  # same-shape operands: numpy is slow broadcasting a last axis of 1
    fg, bg = _sample_fields(fields, blocks, halo)
    f1 = np.clip(_compose(img, a3, fg, bg), 0.0, 1.0, out=fg)  # the wide pass's answer
    f1 *= a3
    bg *= 1.0 - a3
    box = (_FINE, _FINE)
    blur_a = cv2.blur(a3, box)
    fg = cv2.blur(f1, box)
    fg /= blur_a + _EPS
    bg = cv2.blur(bg, box)
    blur_a -= 1.0 + _EPS
    bg /= blur_a
    bg *= -1.0  # bg / (1 + eps - blur_a)
    f2 = _compose(img, a3, fg, bg)
    f2 *= 255.0
    f2 += 0.5
    f2 = np.clip(f2, 0, 255, out=f2).astype(np.uint8)
    side = _BLOCK + 2 * halo
    _write_soft(f2.reshape(-1, side, side, 3), a8_blocks.reshape(-1, side, side), blocks, halo,
                out)


def _write_soft(f: np.ndarray, a8: np.ndarray, blocks: np.ndarray, halo: int, out: np.ndarray):
    """Write each block's inside into `out`, at its soft pixels only: `out` may differ from
    rgb elsewhere (a cutout's colour is zeroed where alpha is 0)."""
    inner = slice(halo, halo + _BLOCK)
    # Contiguous stacks of the blocks' insides, so OpenCV's masked copy can take them.
    f = np.ascontiguousarray(f[:, inner, inner])
    soft = cv2.inRange(np.ascontiguousarray(a8[:, inner, inner]).reshape(-1, _BLOCK), 1, 254)
    soft = soft.reshape(-1, _BLOCK, _BLOCK)
    h, w = out.shape[:2]
    by, bx = blocks[:, 0], blocks[:, 1]
    whole = ((by + 1) * _BLOCK <= h) & ((bx + 1) * _BLOCK <= w)
    if whole.any():  # non-overlapping blocks: one strided read-modify-write for all of them
        st = out.strides
        view = np.lib.stride_tricks.as_strided(
            out, (h // _BLOCK, w // _BLOCK, _BLOCK, _BLOCK, out.shape[2]),
            (_BLOCK * st[0], _BLOCK * st[1]) + st)
        fw, sw, idx = f, soft, (by, bx)
        if not whole.all():  # boolean indexing copies: only when some blocks are clipped
            fw, sw, idx = f[whole], soft[whole], (by[whole], bx[whole])
        cur = view[idx].reshape(-1, _BLOCK, out.shape[2])
        cv2.copyTo(fw.reshape(cur.shape), sw.reshape(cur.shape[:2]), cur)
        view[idx] = cur.reshape(-1, _BLOCK, _BLOCK, out.shape[2])
    for k in np.flatnonzero(~whole):  # the image's last row and column of blocks: clipped
        y0, x0 = by[k] * _BLOCK, bx[k] * _BLOCK
        dst = out[y0 : y0 + _BLOCK, x0 : x0 + _BLOCK]
        m = soft[k, : dst.shape[0], : dst.shape[1]] > 0
        dst[m] = f[k, : dst.shape[0], : dst.shape[1]][m]


def _gather(src: np.ndarray, blocks: np.ndarray, halo: int, size: int = 0) -> np.ndarray:
    """The size-px blocks (default _BLOCK) with their halo, stacked into one tall image
    (n * side, side[, C]). Beyond the image border pixels are reflected, as cv2.blur does there
    in a whole-image pass."""
    size = size or _BLOCK
    h, w = src.shape[:2]
    side = size + 2 * halo
    out = np.empty((len(blocks), side, side) + src.shape[2:], src.dtype)
    y0, x0 = blocks[:, 0] * size - halo, blocks[:, 1] * size - halo
    inside = (y0 >= 0) & (x0 >= 0) & (y0 + side <= h) & (x0 + side <= w)
    if inside.any():
        first = 1 if halo else 0  # with a halo, block 0's starts before the image
        base = src[first * size - halo :, first * size - halo :]
        ny, nx = ((n - side) // size + 1 for n in base.shape[:2])
        view = np.lib.stride_tricks.as_strided(  # view[i, j] = block i + first, j + first
            base, (ny, nx, side, side) + src.shape[2:],
            (size * src.strides[0], size * src.strides[1]) + src.strides, writeable=False)
        out[inside] = view[blocks[inside, 0] - first, blocks[inside, 1] - first]
    edge = ~inside
    if edge.any():  # few blocks: fancy indexing with reflected coordinates
        iy = _reflect(y0[edge, None] + np.arange(side), h)
        ix = _reflect(x0[edge, None] + np.arange(side), w)
        out[edge] = src[iy[:, :, None], ix[:, None, :]]
    return out.reshape((-1, side) + src.shape[2:])


def _reflect(i: np.ndarray, n: int) -> np.ndarray:
    """Indices mirrored into [0, n) without repeating the edge pixel (BORDER_REFLECT_101)."""
    if n == 1:
        return np.zeros_like(i)
    m = np.abs(i) % (2 * n - 2)
    return np.where(m >= n, 2 * n - 2 - m, m)


def _sample_fields(fields: _Fields, blocks: np.ndarray, halo: int):
    """The wide pass's fields, bilinearly upsampled at every stacked block pixel."""
    side = _BLOCK + 2 * halo
    n, s = len(blocks), fields.scale
    offs = np.arange(side, dtype=np.float32) - halo
    ly = (blocks[:, 0:1] * _BLOCK + offs + 0.5) / s - 0.5  # (n, side)
    lx = (blocks[:, 1:2] * _BLOCK + offs + 0.5) / s - 0.5
    map_y = np.broadcast_to(ly[:, :, None], (n, side, side)).reshape(n * side, side)
    map_x = np.broadcast_to(lx[:, None, :], (n, side, side)).reshape(n * side, side)
    # Fixed-point maps (1/32 px, plenty for fields this smooth), converted once for both.
    m1, m2 = cv2.convertMaps(map_x.astype(np.float32), map_y.astype(np.float32), cv2.CV_16SC2)
    return tuple(cv2.remap(f, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                 for f in (fields.fg, fields.bg))


def _compose(img, a, fg, bg):
    """Blur-fusion's update: the blurred foreground, corrected by what the compositing equation
    (img = a fg + (1 - a) bg) leaves unexplained at this pixel."""
    d = fg - bg
    d *= a
    d += bg
    np.subtract(img, d, out=d)
    d *= a
    d += fg
    return d
