"""Marketplace canvases: parsing, the fit rule, premultiplied resampling, rendering."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremove.errors import ConfigError
from bgremove.imaging.canvas import UPSCALE_CAPPED, fit, place_on_canvas
from bgremove.imaging.compose import crop_box, final_alpha, render
from bgremove.imaging.outputs import OutputOptions, parse_canvas


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img)


def _object(h=300, w=400, box=(100, 60, 300, 240), colour=(200, 30, 30)):
    """A coloured rectangle with soft edges on white, and its alpha."""
    mask = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 255
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 1.5)
    rgb = np.clip(np.array(colour, np.float32) * alpha[..., None]
                  + 255 * (1 - alpha[..., None]) + 0.5, 0, 255).astype(np.uint8)
    return rgb, alpha


@pytest.mark.parametrize("text,size", [("2000", (2000, 2000)), ("1600x1200", (1600, 1200)),
                                       (" 800 X 600 ", (800, 600)), (1000, (1000, 1000))])
def test_parse_canvas(text, size):
    assert parse_canvas(text) == size


@pytest.mark.parametrize("bad", ["", "0", "2000x", "x100", "20000", "9000x9000", "big", "-5"])
def test_parse_canvas_refuses(bad):
    with pytest.raises(ConfigError):
        parse_canvas(bad)


def test_fit_spans_fill_of_the_limiting_side():
    assert fit(400, 300, (2000, 2000), 0.85, 10) == (1700, 1275, False)
    assert fit(300, 400, (2000, 2000), 0.85, 10) == (1275, 1700, False)
    assert fit(1000, 100, (1600, 1200), 0.9, 10)[0] == 1440  # width limits
    assert fit(100, 1000, (1600, 1200), 0.9, 10)[1] == 1080  # height limits
    assert fit(4000, 3000, (2000, 2000), 0.85, 2) == (1700, 1275, False)  # shrinking is free
    assert fit(400, 300, (2000, 2000), 0.85, 2.0) == (800, 600, True)  # 4.25x needed, 2x allowed


def test_options_validate_canvas_settings():
    assert OutputOptions(canvas="1600x1200").canvas == (1600, 1200)
    for bad in (dict(canvas="2000", fill=0.0), dict(canvas="2000", fill=1.2),
                dict(canvas="2000", max_upscale=0.5), dict(canvas="2000", margin=10)):
        with pytest.raises(ConfigError):
            OutputOptions(**bad)


def test_key_parts_leave_canvas_out_unless_used():
    # So manifests written before canvases existed keep their keys: no mass reprocessing.
    plain = OutputOptions(fill=0.5).key_parts()
    assert "canvas" not in plain and "fill" not in plain and plain == OutputOptions().key_parts()
    assert OutputOptions(canvas=2000).key_parts()["canvas"] == (2000, 2000)


def test_premultiplied_resampling_keeps_edges_free_of_the_background_colour():
    # Colour under transparent pixels is green: a plain resize would mix it into the red edge.
    fg = np.zeros((200, 200, 3), np.uint8)
    fg[:] = (0, 255, 0)
    a8 = np.zeros((200, 200), np.uint8)
    a8[40:160, 40:160] = 255
    fg[a8 > 0] = (220, 20, 20)
    for side in (97, 500):  # shrink (area) and enlarge (bicubic)
        out_fg, out_a, capped = place_on_canvas(fg, a8, (side, side), 1.0, 10)
        edge = (out_a > 0) & (out_a < 255)
        assert edge.any() and not capped
        assert out_fg[edge][:, 1].max() <= 25  # no green crept in
        assert (out_fg[out_a == 0] == 0).all()  # no colour where nothing shows


def _premultiplied_reference(fg, a8, nw, nh):
    """The resampling written the plain numpy way: premultiply, resize, divide, round."""
    stack = np.dstack([fg.astype(np.uint16) * a8[..., None], a8.astype(np.uint16) * 257])
    enlarge = nw > fg.shape[1] or nh > fg.shape[0]
    part = cv2.resize(stack, (nw, nh), interpolation=cv2.INTER_CUBIC if enlarge
                      else cv2.INTER_AREA).astype(np.float32)
    alpha = part[..., 3] * np.float32(1.0 / 257.0)
    a = np.clip(alpha + 0.5, 0, 255).astype(np.uint8)
    colour = np.clip(part[..., :3] / np.maximum(alpha, np.float32(1e-3))[..., None] + 0.5,
                     0, 255).astype(np.uint8)
    colour[a == 0] = 0
    return colour, a


@pytest.mark.parametrize("size,new", [((110, 80), (170, 120)), ((110, 80), (50, 36)),
                                      ((1, 1), (4, 4)), ((40, 1), (2, 80)), ((3, 5), (9, 15))])
def test_premultiplied_resampling_is_the_reference_arithmetic(size, new):
    from bgremove.imaging.canvas import _resize_premultiplied

    rng = np.random.default_rng(3)
    fg = rng.integers(0, 256, size + (3,), np.uint8)
    a8 = rng.integers(0, 256, size, np.uint8)
    a8[a8 < 40], a8[a8 > 230] = 0, 255
    ours, ref = _resize_premultiplied(fg, a8, *new), _premultiplied_reference(fg, a8, *new)
    assert np.array_equal(ours[0], ref[0]) and np.array_equal(ours[1], ref[1])


def test_render_on_canvas_centres_the_box_at_the_fill(tmp_path):
    rgb, alpha = _object()
    opts = OutputOptions(canvas="1000", fill=0.8, bg_color="white", mask=True, max_upscale=10)
    out = render(rgb, alpha, opts)
    assert set(out.data) == {"cutout", "mask", "composite"} and out.flags == []
    mask = _decode(out.data["mask"])
    cutout = _decode(out.data["cutout"])
    comp = _decode(out.data["composite"])
    assert mask.shape == (1000, 1000) and cutout.shape == (1000, 1000, 4)
    assert comp.shape == (1000, 1000, 3)
    x0, y0, x1, y1 = crop_box(mask)
    assert abs(max(x1 - x0, y1 - y0) - 800) <= 1
    assert abs((x0 + x1) / 2 - 500) <= 1 and abs((y0 + y1) / 2 - 500) <= 1
    assert (cutout[..., 3] == mask).all()  # one alpha for every output
    assert (comp[0, 0] >= 250).all() and cutout[0, 0, 3] == 0  # white around; transparent
    # The same bytes from the network's float mask or the cached 8-bit one (maskcache.py).
    assert render(rgb, final_alpha(alpha), opts).data == out.data


def test_a_small_object_is_enlarged_to_the_limit_and_flagged():
    rgb, alpha = _object(120, 160, (40, 30, 120, 90))  # an 80 px box
    out = render(rgb, alpha, OutputOptions(canvas="1000", fill=0.85, mask=True))
    assert out.flags == [UPSCALE_CAPPED]
    x0, y0, x1, y1 = crop_box(_decode(out.data["mask"]))
    box = crop_box(final_alpha(alpha))
    assert abs((x1 - x0) - 2 * (box[2] - box[0])) <= 1  # 2x, the default limit, not 10.6x


def test_an_empty_mask_puts_the_whole_image_on_the_canvas():
    rgb = np.full((100, 200, 3), 250, np.uint8)
    out = render(rgb, np.zeros((100, 200), np.float32),
                 OutputOptions(canvas="400", fill=1.0, cutout=False, bg_color="white"))
    assert _decode(out.data["composite"]).shape == (400, 400, 3)
