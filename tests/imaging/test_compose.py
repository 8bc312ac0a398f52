"""Cutout, mask and composite outputs; naming; crop; colour decontamination."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from bgremove.errors import ConfigError
from bgremove.imaging import foreground
from bgremove.imaging.compose import (
    composite,
    crop_box,
    cutout_rgba,
    decontaminate,
    final_alpha,
    parse_color,
    render_outputs,
)
from bgremove.imaging.outputs import OutputOptions, output_names


def _decode(data: bytes) -> tuple[np.ndarray, dict]:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img), dict(img.info)


def _disc(h=60, w=80, soft=2.0):
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (w // 2, h // 2), min(h, w) // 3, 255, -1)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), soft)


def _red_on_green(h=60, w=80):
    alpha = _disc(h, w)
    fg, bg = np.array([220, 20, 20], np.float32), np.array([20, 200, 20], np.float32)
    a = alpha[..., None]
    return np.clip(fg * a + bg * (1 - a) + 0.5, 0, 255).astype(np.uint8), alpha


# ---- options and names ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["#FFFFFF", "FFFFFF", "white", "255,255,255", "#fff", " white "])
def test_parse_color_white(text):
    assert parse_color(text) == (255, 255, 255)


def test_parse_color_values_and_errors():
    assert parse_color("#102030") == (16, 32, 48) and parse_color("1, 2, 3") == (1, 2, 3)
    for bad in ("", "nope", "256,0,0", "#12345", "1,2"):
        with pytest.raises(ConfigError):
            parse_color(bad)


def test_options_validation():
    for bad in (dict(composite_format="gif", bg_color="white"), dict(cutout_format="jpg"),
                dict(bg_color="blurple"), dict(margin=-1), dict(margin="x%"),
                dict(threshold=1.5), dict(png_compression=10), dict(jpeg_quality=0),
                dict(cutout=False)):
        with pytest.raises(ConfigError):
            OutputOptions(**bad)
    assert OutputOptions(margin="5%").margin == "5%"


def test_output_names():
    assert output_names("a", OutputOptions()) == {"cutout": "a.png"}
    names = output_names("a", OutputOptions(mask=True, bg_color="white"))
    assert names == {"cutout": "a.png", "mask": "a.mask.png", "composite": "a.jpg"}
    clash = output_names("a", OutputOptions(bg_color="white", composite_format="png"))
    assert clash == {"cutout": "a.png", "composite": "a.bg.png"}
    webp = output_names("a", OutputOptions(cutout_format="webp", bg_color="red",
                                           composite_format="webp"))
    assert webp == {"cutout": "a.webp", "composite": "a.bg.webp"}
    only = output_names("a", OutputOptions(cutout=False, bg_color="red", composite_format="png"))
    assert only == {"composite": "a.png"}


# ---- pure functions ------------------------------------------------------------------------

def test_cutout_rgba_and_composite():
    rgb = np.full((4, 4, 3), 100, np.uint8)
    alpha = np.array([[0.0, 0.5, 1.0, 0.002]] * 4, np.float32)
    rgba = cutout_rgba(rgb, alpha)
    assert list(rgba[0, :, 3]) == [0, 128, 255, 1]
    assert (rgba[0, 0, :3] == 0).all() and (rgba[0, 2, :3] == 100).all()
    comp = composite(rgb, alpha, "#FF0000")
    assert tuple(comp[0, 0]) == (255, 0, 0) and tuple(comp[0, 2]) == (100, 100, 100)
    assert np.abs(comp[0, 1].astype(int) - (178, 50, 50)).max() <= 1


@pytest.mark.parametrize("color", [(255, 255, 255), (0, 0, 0), (1, 128, 254)])
def test_composite_is_the_rounded_blend_for_every_value_alpha_and_layout(color):
    """Every (colour value, alpha) pair, from RGB, RGBA and BGRA inputs and at 1-pixel sizes:
    round((c x a + bg x (255 - a)) / 255), the integer formula, exactly."""
    from bgremove.imaging.colour import blend_over

    v, a = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rgb = np.stack([v, 255 - v, (v * 7) % 256], -1).astype(np.uint8)
    a8 = a.astype(np.uint8)
    blend = rgb.astype(np.int64) * a8[..., None] + np.array(color) * (255 - a8[..., None])
    expected = ((blend + 127) // 255).astype(np.uint8)
    rgba = np.dstack([rgb, a8])
    bgra = np.ascontiguousarray(rgba[..., [2, 1, 0, 3]])
    assert np.array_equal(blend_over(rgb, a8, color), expected)
    assert np.array_equal(blend_over(rgba, a8, color), expected)
    assert np.array_equal(blend_over(bgra, a8, color, bgr=True), expected)
    for h, w in ((1, 1), (1, 5), (7, 1)):
        assert np.array_equal(blend_over(rgb[:h, 100:100 + w], a8[:h, 100:100 + w], color),
                              expected[:h, 100:100 + w])


def test_final_alpha_cuts_sigmoid_tails():
    alpha = np.array([[0.0, 0.004, 0.019, 0.5, 0.981, 0.999, 1.0]], np.float32)
    assert list(final_alpha(alpha)[0]) == [0, 0, 0, 128, 255, 255, 255]
    assert list(final_alpha(alpha, threshold=0.5)[0]) == [0, 0, 0, 255, 255, 255, 255]
    ramp = final_alpha(np.linspace(0, 1, 1001, dtype=np.float32)[None])[0].astype(int)
    assert (np.diff(ramp) >= 0).all() and np.diff(ramp).max() <= 1  # smooth, no banding jump


def test_crop_box_ignores_specks_and_noise():
    alpha = np.zeros((100, 200), np.float32)
    alpha[30:60, 50:120] = 1.0
    alpha[5, 190] = 1.0  # a one-pixel speck far away
    alpha[90:95, 0:200] = 0.03  # faint haze below the noise floor
    assert crop_box(alpha, 0) == (50, 30, 120, 60)
    assert crop_box(alpha, 10) == (40, 20, 130, 70)
    assert crop_box(alpha, "10%") == (43, 23, 127, 67)  # 10% of the 70 px long side
    assert crop_box(alpha, 1000) == (0, 0, 200, 100)
    alpha[80:90, 180:190] = 1.0  # 100 px: a real second part, > 1% of the main one
    assert crop_box(alpha, 0) == (50, 30, 190, 90)
    assert crop_box(np.zeros((5, 5), np.float32), 3) is None


def test_decontamination_removes_green_spill():
    rgb, alpha = _red_on_green()
    fg = decontaminate(rgb, alpha)
    soft = (alpha > 0.05) & (alpha < 0.95)
    assert soft.sum() > 50

    def green_excess(img):
        return float((img[..., 1].astype(float) - img[..., 0].astype(float))[soft].mean())

    assert green_excess(rgb) > 0  # the edge really is contaminated
    assert green_excess(fg) < green_excess(rgb) - 100
    assert fg[..., 1][soft].mean() < 60  # edge colour close to the true red's green (20)
    unchanged = (alpha <= 0) | (alpha >= 1)
    assert np.array_equal(fg[unchanged], rgb[unchanged])


def test_decontamination_blocks_match_whole_image(monkeypatch):
    rgb, alpha = _red_on_green(300, 240)
    monkeypatch.setattr(foreground, "_BLOCK", 512)
    whole = decontaminate(rgb, alpha)  # one block
    assert not np.array_equal(whole, rgb)
    for block in (56, 16):  # many blocks (multiples of the wide pass's scale), some overhanging
        # the image's last row and column
        monkeypatch.setattr(foreground, "_BLOCK", block)
        assert np.abs(decontaminate(rgb, alpha).astype(int) - whole).max() <= 1



@pytest.mark.parametrize("block", [32, 16, 56])
def test_decontamination_wide_pass_near_soft_blocks_equals_everywhere(monkeypatch, block):
    """The wide pass averages only blocks within the fine pass's reach of a soft pixel: the
    same bytes as averaging the whole image, for small objects far from and at the border."""
    monkeypatch.setattr(foreground, "_BLOCK", block)
    rng = np.random.default_rng(2)
    h, w = 410, 530
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 2)
    mask = np.zeros((h, w), np.float32)
    cv2.circle(mask, (260, 200), 25, 1.0, -1)  # far from every border
    cv2.circle(mask, (w - 8, h - 5), 20, 1.0, -1)  # over the last, partial blocks
    alpha = cv2.GaussianBlur(mask, (0, 0), 2.0)
    near = decontaminate(rgb, alpha)
    assert len(foreground._near_blocks(foreground._soft_blocks(foreground._to_u8(alpha), block),
                                       -(-h // block), -(-w // block))) < (h * w) / block**2 / 2
    monkeypatch.setattr(foreground, "_reach_blocks", lambda: 1000)  # every block
    assert not np.array_equal(near, rgb)
    assert np.array_equal(near, decontaminate(rgb, alpha))


@pytest.mark.parametrize("bgr", [False, True], ids=["rgba", "bgra"])
def test_decontamination_into_a_whole_cutout_equals_into_its_colour_view(bgr):
    """render() hands decontaminate the 4-channel cutout (whole pixels written, alpha = a8)
    instead of its colour view: the same bytes, in both channel orders, with objects over the
    last, clipped blocks too."""
    from bgremove.imaging.compose import _rgba

    rng = np.random.default_rng(5)
    h, w = 203, 157
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 2)
    mask = np.zeros((h, w), np.float32)
    cv2.circle(mask, (70, 90), 40, 1.0, -1)
    cv2.circle(mask, (w - 6, h - 4), 25, 1.0, -1)
    a8 = final_alpha(cv2.GaussianBlur(mask, (0, 0), 3.0))
    via_view, whole = _rgba(rgb, a8, bgr), _rgba(rgb, a8, bgr)
    decontaminate(rgb, a8, out=via_view[..., 2::-1] if bgr else via_view[..., :3])
    decontaminate(rgb, a8, out=whole, bgr=bgr)
    assert not np.array_equal(via_view, _rgba(rgb, a8, bgr))  # it changed edge pixels
    assert np.array_equal(whole, via_view)


def _blur_fusion_reference(rgb, alpha):
    """The estimator decontaminate approximates, run whole-image at full resolution (Forte &
    Pitie 2021, windows 90 then 6 px): the pre-optimisation implementation."""
    img = rgb.astype(np.float32) / 255.0
    a = np.clip(alpha.astype(np.float32), 0.0, 1.0)[..., None]
    f = b = img
    for r in (90, 6):
        blur_a = cv2.blur(a, (r, r))[..., None]
        blur_f = cv2.blur(f * a, (r, r)) / (blur_a + 1e-5)
        blur_b = cv2.blur(b * (1.0 - a), (r, r)) / ((1.0 - blur_a) + 1e-5)
        f, b = np.clip(blur_f + a * (img - a * blur_f - (1.0 - a) * blur_b), 0, 1), blur_b
    return np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("centre", ["middle", "corner", "all soft"])
def test_decontamination_matches_full_resolution_reference(centre):
    """Low-resolution wide pass and block-wise fine pass: within a grey level or two of the
    whole-image computation, also where blocks meet the image border."""
    h, w = 300, 420
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (w // 2, h // 2) if centre == "middle" else (w - 30, 20), 110, 255, -1)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 3.0)
    if centre == "all soft":
        alpha = 0.2 + 0.6 * alpha  # like an unsure model: no pixel fully in or out
    rng = np.random.default_rng(1)
    fg = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 6)
    bg = np.empty_like(fg)
    bg[:] = (30, 190, 60)
    a = alpha[..., None]
    rgb = np.clip(fg * a + bg * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)
    a8 = final_alpha(alpha)
    soft = (a8 > 0) & (a8 < 255)
    ours, ref = decontaminate(rgb, a8), _blur_fusion_reference(rgb, a8 / 255.0)
    diff = np.abs(ours.astype(int) - ref)[soft]
    assert soft.sum() > 2000 and diff.mean() < 0.25 and diff.max() <= 4
    assert np.array_equal(ours[~soft], rgb[~soft])
    moved = np.abs(ref.astype(int) - rgb)[soft].mean()  # agreeing must mean something:
    assert moved > (1 if centre == "all soft" else 20)  # the reference really changed them


# Edge colour error of decontaminate on _known_foreground(), in grey levels (mean, alpha-weighted),
# measured with the implementation before the block-wise fine pass was made planar and the wide
# pass strip-wise (commit 4b3a627): the bar for every later change. Without decontamination the
# cutout's edge is 28.63 / 14.38 off.
EDGE_ERROR_BEFORE = (15.395, 10.955)


def _known_foreground(h=360, w=480):
    """(composite, alpha8, true foreground): a textured foreground over another texture, through
    a soft-edged ellipse and bar, so the true colour of every edge pixel is known."""
    rng = np.random.default_rng(7)
    fg = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 4)
    fg = cv2.normalize(fg, None, 20, 235, cv2.NORM_MINMAX)
    bg = cv2.resize(rng.integers(0, 256, (h // 24, w // 24, 3), np.uint8), (w, h),
                    interpolation=cv2.INTER_CUBIC)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (150, 110), 20, 0, 360, 255, -1)
    cv2.rectangle(mask, (40, 40), (120, 300), 255, -1)
    a8 = final_alpha(cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 4.0))
    a = a8[..., None] / 255.0
    return np.clip(fg * a + bg * (1 - a) + 0.5, 0, 255).astype(np.uint8), a8, fg


def test_decontamination_edge_colour_error_does_not_get_worse():
    from bgremove.modeltools.metrics import edge_colour_error

    comp, a8, truth = _known_foreground()
    before = edge_colour_error(comp, truth, a8)
    after = edge_colour_error(decontaminate(comp, a8), truth, a8)
    assert before["pixels"] > 10000 and before["mean"] > 25  # a real, contaminated edge
    assert after["mean"] <= EDGE_ERROR_BEFORE[0] + 0.01
    assert after["visible"] <= EDGE_ERROR_BEFORE[1] + 0.01


def test_decontamination_ignores_alpha_that_rounds_to_0_or_255():
    rgb, alpha = _red_on_green()
    alpha = np.clip(alpha, 1e-4, 1 - 1e-4)  # like a sigmoid: never exactly 0 or 1
    fg = decontaminate(rgb, alpha)
    a8 = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    keep = (a8 == 0) | (a8 == 255)
    assert keep.sum() > 1000 and np.array_equal(fg[keep], rgb[keep])


# ---- render_outputs ------------------------------------------------------------------------

def test_render_all_outputs():
    rgb, alpha = _red_on_green()
    opts = OutputOptions(mask=True, bg_color="#0000FF", composite_format="png")
    out = render_outputs(rgb, alpha, opts)
    assert set(out) == {"cutout", "mask", "composite"}
    cut, _ = _decode(out["cutout"])
    mask, _ = _decode(out["mask"])
    comp, _ = _decode(out["composite"])
    a8 = final_alpha(alpha)
    assert cut.shape == (60, 80, 4) and np.array_equal(cut[..., 3], a8)
    assert mask.shape == (60, 80) and mask.dtype == np.uint8 and np.array_equal(mask, a8)
    assert tuple(comp[0, 0]) == (0, 0, 255)
    assert tuple(comp[30, 40]) == tuple(rgb[30, 40])
    assert (cut[a8 == 255, :3] == rgb[a8 == 255]).all()


def test_render_decontaminates_cutout_and_composite():
    rgb, alpha = _red_on_green()
    out = render_outputs(rgb, alpha, OutputOptions(bg_color="white", composite_format="png"))
    cut, _ = _decode(out["cutout"])
    comp, _ = _decode(out["composite"])
    a8 = final_alpha(alpha)
    fg = decontaminate(rgb, a8)
    visible = a8 > 0
    assert np.array_equal(cut[..., :3][visible], fg[visible])
    assert (cut[..., :3][~visible] == 0).all()
    assert np.array_equal(comp, composite(fg, a8, "white"))
    raw = render_outputs(rgb, alpha, OutputOptions(decontaminate=False))
    assert np.array_equal(_decode(raw["cutout"])[0][..., :3][visible], rgb[visible])


def test_render_jpeg_and_webp_and_threshold():
    rgb, alpha = _red_on_green()
    out = render_outputs(rgb, alpha, OutputOptions(cutout_format="webp", bg_color="white",
                                                   threshold=0.5, decontaminate=False))
    cut, _ = _decode(out["cutout"])
    comp, info = _decode(out["composite"])
    assert set(np.unique(cut[..., 3])) <= {0, 255}
    assert comp.shape == (60, 80, 3) and out["composite"][:2] == b"\xff\xd8"  # a JPEG
    assert np.array_equal(cut[..., 3] == 255, alpha >= 0.5)


def test_render_crop_with_margin():
    rgb, alpha = _red_on_green(100, 120)
    out = render_outputs(rgb, alpha, OutputOptions(mask=True, crop=True, margin=4))
    cut, _ = _decode(out["cutout"])
    mask, _ = _decode(out["mask"])
    x0, y0, x1, y1 = crop_box(final_alpha(alpha), 0)
    assert cut.shape[:2] == mask.shape == (y1 - y0 + 8, x1 - x0 + 8)
    assert mask[0].max() < 13 and mask[mask.shape[0] // 2].max() == 255


def test_icc_profile_kept_on_colour_outputs(srgb_icc):
    icc = srgb_icc
    rgb, alpha = _red_on_green()
    for fmt in ("jpg", "webp", "png"):
        opts = OutputOptions(mask=True, bg_color="white", composite_format=fmt)
        out = render_outputs(rgb, alpha, opts, icc_profile=icc)
        assert _decode(out["cutout"])[1].get("icc_profile") == icc
        assert _decode(out["composite"])[1].get("icc_profile") == icc
        assert not _decode(out["mask"])[1].get("icc_profile")  # a mask is not colour
