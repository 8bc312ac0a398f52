"""Training augmentations, albumentations-style but with explicit randomness.

Pure functions do the pixel work. The small classes hold parameter ranges and a probability;
each draws its parameters from the np.random.Generator passed to `__call__`, so one generator
seeded per sample makes a whole pipeline reproducible whatever process runs it.

Images are HWC uint8 RGB, masks HW float32 in [0, 1]. Geometric transforms move both with one
matrix and one border mode, so a mask stays aligned with its image pixel for pixel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from bgremove.inference.zoom import crop, zoom_box

Pair = tuple[np.ndarray, np.ndarray]


# ---------------------------------------------------------------- pure functions
def affine_matrix(
    src_hw: tuple[int, int],
    out_size: int,
    scale: float = 1.0,
    angle: float = 0.0,
    flip: bool = False,
    shift: tuple[float, float] = (0.0, 0.0),
    square: bool = False,
) -> np.ndarray:
    """2x3 matrix: fit the source's long side to `out_size` times `scale` (with `square`, each
    side, aspect not kept: the stretch a `square` Preprocessing makes at inference), mirror,
    rotate by `angle` degrees about the centre, and move the centre by `shift` (px) from the
    output's."""
    h, w = src_hw
    sx, sy = fit_factors(src_hw, out_size, scale, square)
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    lin = rot @ np.diag([-sx if flip else sx, sy])
    c_src = np.array([(w - 1) / 2, (h - 1) / 2])
    c_out = np.array([(out_size - 1) / 2 + shift[0], (out_size - 1) / 2 + shift[1]])
    return np.hstack([lin, (c_out - lin @ c_src)[:, None]]).astype(np.float64)


def fit_factors(src_hw: tuple[int, int], out_size: int, scale: float = 1.0,
                square: bool = False) -> tuple[float, float]:
    """(x, y) scale factors that bring a src_hw image to `out_size` times `scale`: its long side
    (aspect kept), or with `square` each side (stretched)."""
    h, w = src_hw
    if square:
        return scale * out_size / w, scale * out_size / h
    s = scale * out_size / max(h, w)
    return s, s


def warp_pair(img: np.ndarray, mask: np.ndarray, matrix: np.ndarray, out_size: int) -> Pair:
    """Warp image and mask to out_size x out_size. Edges replicate (a constant colour would
    teach the model that a flat band is background); the mask replicates the same way."""
    size = (out_size, out_size)
    flags = cv2.INTER_LINEAR
    img = cv2.warpAffine(img, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(mask, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return img, np.clip(mask, 0.0, 1.0)


def valid_region(src_hw: tuple[int, int], matrix: np.ndarray, out_size: int) -> np.ndarray:
    """HW float32: 1 where the warp samples the source image, 0 on the replicated padding (which
    inference crops away: a loss there teaches nothing and Dice would count its streaks)."""
    ones = np.ones(src_hw, np.float32)
    inside = cv2.warpAffine(ones, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return (inside >= 0.5).astype(np.float32)


def area_prefit(img: np.ndarray, mask: np.ndarray, factor: float) -> Pair:
    """Shrink by `factor` with INTER_AREA first when the warp would shrink a lot: the warp's
    bilinear sampling aliases fine texture, which inference (INTER_AREA) never shows the model."""
    h, w = img.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return (cv2.resize(img, size, interpolation=cv2.INTER_AREA),
            cv2.resize(mask, size, interpolation=cv2.INTER_AREA))


def colour_lut(
    brightness: float, contrast: float, gamma: float, gains: Sequence[float]
) -> np.ndarray:
    """(256, 1, 3) uint8 lookup table: per-channel white-balance gains, gamma, then contrast
    about mid-grey and a brightness offset (fractions of full scale). One cv2.LUT applies all."""
    x = np.arange(256, dtype=np.float32)[:, None] / 255.0
    y = np.clip(x * np.asarray(gains, np.float32)[None, :], 0, 1) ** gamma
    y = (y - 0.5) * contrast + 0.5 + brightness
    return np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8)[:, None, :]


def apply_lut(img: np.ndarray, lut: np.ndarray) -> np.ndarray:
    return cv2.LUT(np.ascontiguousarray(img), lut)


def shift_hue(img: np.ndarray, degrees: float, saturation: float) -> np.ndarray:
    """Rotate hue by `degrees` and scale saturation by `saturation`."""
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    h = (hsv[..., 0].astype(np.int16) + int(round(degrees / 2))) % 180  # OpenCV hue is 0..179
    s = np.clip(hsv[..., 1].astype(np.float32) * saturation, 0, 255)
    hsv = np.dstack([h.astype(np.uint8), s.astype(np.uint8), hsv[..., 2]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma)


def add_noise(img: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Add a float noise field (same shape as img, in grey levels) and saturate."""
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        return img
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


# ---------------------------------------------------------------- classes holding randomness
class RandomAffineCrop:
    """Flip, scale, rotate and shift, cropping to a square of `size` (always applied: it is
    what brings every sample to the training size)."""

    def __init__(
        self,
        size: int,
        scale: tuple[float, float] = (0.75, 1.25),
        rotate: float = 15.0,
        flip_p: float = 0.5,
        shift: float = 0.1,
        with_valid: bool = False,
        square: bool = False,
    ) -> None:
        """with_valid: return the mask as HW x 2, (label, valid_region), for the loss.
        square: stretch each photo to the square (see affine_matrix) before the zoom."""
        self.size, self.scale, self.rotate, self.flip_p, self.shift = (
            size, scale, rotate, flip_p, shift
        )
        self.with_valid, self.square = with_valid, square

    def params(self, src_hw: tuple[int, int], rng: np.random.Generator) -> dict:
        # Log-uniform scale: zooming in x1.25 and out x0.8 are equally likely.
        lo, hi = np.log(self.scale[0]), np.log(self.scale[1])
        scale = float(np.exp(rng.uniform(lo, hi)))
        fits = fit_factors(src_hw, self.size, scale, self.square)
        # Where the scaled image overhangs the crop, any window over it is fair game.
        room = [max(0.0, (n * f - self.size) / 2) + self.shift * self.size
                for n, f in zip(src_hw[::-1], fits, strict=True)]
        return {
            "scale": scale,
            "angle": float(rng.uniform(-self.rotate, self.rotate)),
            "flip": bool(rng.random() < self.flip_p),
            "shift": (float(rng.uniform(-room[0], room[0])), float(rng.uniform(-room[1], room[1]))),
        }

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        params = self.params(img.shape[:2], rng)
        if self.with_valid:  # the newer pipeline: also pre-shrink with INTER_AREA
            # by the larger factor, so a stretched short side is not shrunk below its size
            fit = max(fit_factors(img.shape[:2], self.size, params["scale"], self.square))
            if fit < 0.5:
                img, mask = area_prefit(img, mask, fit * 1.25)
        src_hw = img.shape[:2]
        m = affine_matrix(src_hw, self.size, **params, square=self.square)
        img, mask = warp_pair(img, mask, m, self.size)
        if self.with_valid:
            mask = np.dstack([mask, valid_region(src_hw, m, self.size)])
        return img, mask


class ZoomCrop:
    """With probability p, the crop that inference's zoom predicts again (the label's object
    box with its margin, at the photo's aspect; bgremove.inference.zoom), where that crop
    covers at most `max_area` of the photo: the network also learns the framing of its second
    look at a small object, not only whole photos."""

    def __init__(self, p: float = 0.0, max_area: float = 0.7) -> None:
        self.p, self.max_area = p, max_area

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        if self.p <= 0 or rng.random() >= self.p:  # p 0 draws nothing: older runs stay identical
            return img, mask
        box = zoom_box(mask, self.max_area)
        if box is None:
            return img, mask
        return crop(img, box), crop(mask, box)


class ColourJitter:
    """Brightness, contrast, gamma and white balance (per-channel gains) in one LUT."""

    def __init__(self, p: float = 0.8, brightness: float = 0.15, contrast: float = 0.25,
                 gamma: float = 0.25, white_balance: float = 0.12) -> None:
        self.p, self.brightness, self.contrast = p, brightness, contrast
        self.gamma, self.white_balance = gamma, white_balance

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        if rng.random() >= self.p:
            return img, mask
        lut = colour_lut(
            brightness=rng.uniform(-self.brightness, self.brightness),
            contrast=rng.uniform(1 - self.contrast, 1 + self.contrast),
            gamma=float(np.exp(rng.uniform(-self.gamma, self.gamma))),
            gains=rng.uniform(1 - self.white_balance, 1 + self.white_balance, size=3),
        )
        return apply_lut(img, lut), mask


class HueSaturation:
    def __init__(self, p: float = 0.3, hue: float = 12.0, saturation: float = 0.3) -> None:
        self.p, self.hue, self.saturation = p, hue, saturation

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        if rng.random() >= self.p:
            return img, mask
        sat = rng.uniform(1 - self.saturation, 1 + self.saturation)
        return shift_hue(img, rng.uniform(-self.hue, self.hue), sat), mask


class Blur:
    def __init__(self, p: float = 0.15, sigma: tuple[float, float] = (0.3, 1.5)) -> None:
        self.p, self.sigma = p, sigma

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        if rng.random() >= self.p:
            return img, mask
        return gaussian_blur(img, rng.uniform(*self.sigma)), mask


class Noise:
    def __init__(self, p: float = 0.15, sigma: tuple[float, float] = (2.0, 10.0)) -> None:
        self.p, self.sigma = p, sigma

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        if rng.random() >= self.p:
            return img, mask
        sigma = rng.uniform(*self.sigma)
        return add_noise(img, rng.normal(0.0, sigma, img.shape).astype(np.float32)), mask


class JpegArtefacts:
    def __init__(self, p: float = 0.2, quality: tuple[int, int] = (30, 90)) -> None:
        self.p, self.quality = p, quality

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        if rng.random() >= self.p:
            return img, mask
        return jpeg_roundtrip(img, int(rng.integers(self.quality[0], self.quality[1] + 1))), mask


class Compose:
    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> Pair:
        for t in self.transforms:
            img, mask = t(img, mask, rng)
        return img, mask


def build_augmenter(size: int, strength: float = 1.0, zoom: tuple[float, float] = (0.75, 1.25),
                    with_valid: bool = False, square: bool = False,
                    zoom_crop: float = 0.0) -> Compose:
    """The training pipeline; `strength` 0 keeps only the resize/crop (for debugging or a
    final low-augmentation phase), 1 is the default, values in between scale the probabilities.
    zoom: the range of the image's long side relative to `size` (log-uniform). with_valid: the
    mask comes back as HW x 2, (label, valid region). square: photos are stretched to the
    square crop (RandomAffineCrop), for weights whose Preprocessing is `square`. zoom_crop:
    the share of samples first cropped as the inference zoom would (ZoomCrop)."""
    s = max(0.0, float(strength))
    geo = RandomAffineCrop(size, rotate=15.0 * min(s, 1.0), shift=0.1 * min(s, 1.0),
                           scale=tuple(zoom) if s > 0 else (1.0, 1.0),
                           flip_p=0.5 if s > 0 else 0.0, with_valid=with_valid, square=square)
    return Compose([
        ZoomCrop(p=zoom_crop),
        geo,
        ColourJitter(p=min(1.0, 0.8 * s)),
        HueSaturation(p=min(1.0, 0.3 * s)),
        Blur(p=min(1.0, 0.15 * s)),
        Noise(p=min(1.0, 0.15 * s)),
        JpegArtefacts(p=min(1.0, 0.2 * s)),
    ])
