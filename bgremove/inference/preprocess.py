"""Turning HWC uint8 RGB images into the model's normalised NCHW float32 input, and back.

Pure numpy + OpenCV: no model code here, so tiling, TTA and the backends share one definition of
what the network sees.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """What a weights file needs from its caller; stored in every .pth and .onnx we write.

    input_size: the long side the model was trained at.
    multiple: height and width must be multiples of this (the encoder's total stride).
    scale_by_max: divide by the image max instead of 255 (U-Net presets from rembg do this).
    output: "logits" for our models; "prob" for foreign models whose output is already sigmoid-ed.
    square: resize to input_size x input_size, ignoring aspect (foreign models trained that way).
    pad_square: centre the resized image (aspect kept) on a square canvas, edges replicated:
        the layout train/augment.py gives every training sample. Against padding only the
        bottom/right to a multiple, the stage-3 weights gained IoU on every val set (davis
        0.662 -> 0.681, ccp 0.940 -> 0.942) and lowered MAE, for 33% more model pixels on a 4:3
        photo. Files written before this field existed read it as True: they were trained so.
    resample: "area" (OpenCV INTER_AREA down, bilinear up) or "lanczos" (PIL's antialiased
        Lanczos both ways, as rembg resizes for its models: U-2-Net scores 0.782 on val/davis
        with "area" and 0.794 through rembg).
    minmax: stretch each output to [0, 1] by its own min and max (rembg does so for U-2-Net
        and ISNet, whose raw outputs rarely reach 0 and 1).
    sharpen: the full-resolution mask's logits are multiplied by this (inference/sharpen.py),
        a calibration measured for each set of weights on its selection split; files written
        before this field existed read it as 1.0 (unchanged).
    guide: radius, in the network's pixels, of the guided filter that aligns the network's
        mask with the edges of the image it saw (inference/guided.py), before enlargement; a
        calibration like sharpen; 0 (off) for files written before this field existed.
    zoom: predict a small object again on a crop around it when that crop covers at most this
        share of the photo (inference/zoom.py); measured for each set of weights on its
        selection split (train/zoom.py); 0 (off) for files written before this field existed.
    zoom_mirror: the crop is predicted with its mirror image as well and the two averaged
        (inference/zoom.py); chosen on a split of small objects (train/zoom.py); False for
        files written before this field existed.
    mirror_busy: where the caller asks for the mirror (`--mirror`), the first pass is predicted
        again on the photo's mirror image, and the two averaged, when the backdrop around its
        object is at least this busy (mean gradient, inference/mirror.py); chosen on the
        selection split (train/mirror.py); 0 (never) for files written before this field.
    """

    input_size: int = 320
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    multiple: int = 32
    scale_by_max: bool = False
    output: str = "logits"
    square: bool = False
    pad_square: bool = True
    resample: str = "area"
    minmax: bool = False
    sharpen: float = 1.0
    guide: int = 0
    zoom: float = 0.0
    zoom_mirror: bool = False
    mirror_busy: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for key in ("mean", "std"):
            if key in known:
                known[key] = tuple(float(v) for v in known[key])
        if "sharpen" in known:
            known["sharpen"] = float(known["sharpen"])
        if "guide" in known:
            known["guide"] = int(known["guide"])
        for key in ("zoom", "mirror_busy"):
            if key in known:
                known[key] = float(known[key])
        if "zoom_mirror" in known:  # stored by train.zoom as JSON true/false; 0/1 read alike
            known["zoom_mirror"] = bool(known["zoom_mirror"])
        return cls(**known)

    @classmethod
    def from_json(cls, text: str) -> Preprocessing:
        return cls.from_dict(json.loads(text))

    def global_size(self, h: int, w: int) -> tuple[int, int]:
        """The (h, w) a whole image is resized to for the model's one global pass."""
        if self.square:
            return self.input_size, self.input_size
        return fit_size(h, w, self.input_size, self.multiple)

    def network_shape(self, h: int, w: int) -> tuple[int, int]:
        """The (H, W) the network is given for an image already resized to h x w."""
        if self.square:
            return self.input_size, self.input_size
        return model_shape(h, w, self.multiple, self.pad_square)


# Our own network (bgremove.model): EfficientNet-Lite was trained on inputs scaled to [-1, 1]; its
# ImageNet accuracy is higher with this than with the usual ImageNet mean/std (46/50 vs 39/50 on a
# sample of ImageNet photos here).
DEFAULT_PREPROCESSING = Preprocessing(input_size=320, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def normalise(images: np.ndarray, pre: Preprocessing) -> np.ndarray:
    """NHWC (or HWC) uint8 RGB -> NCHW float32 normalised with the model's mean/std."""
    x = images[None] if images.ndim == 3 else images
    # Planar first, then the arithmetic: broadcasting mean/std over a trailing axis of 3 ran
    # numpy's inner loops 3 elements at a time (~3 ms for a 320 px input, now ~0.2; same bits).
    x = x.transpose(0, 3, 1, 2).astype(np.float32, order="C")
    if pre.scale_by_max:
        x /= max(float(x.max()), 1e-6)
    else:
        x *= 1.0 / 255.0
    x -= np.asarray(pre.mean, np.float32)[:, None, None]
    x /= np.asarray(pre.std, np.float32)[:, None, None]
    return x


def fit_size(h: int, w: int, long_side: int, multiple: int) -> tuple[int, int]:
    """The (h, w) an image is resized to so its long side is `long_side`, aspect kept."""
    scale = long_side / max(h, w)
    nh = max(1, round(h * scale))
    nw = max(1, round(w * scale))
    return nh, nw


def pad_to_multiple(img: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad an HWC image at the bottom/right by edge replication to a multiple of `multiple`.

    Replication rather than zeros: a black band would look like a dark background to the model.
    Returns the padded image and the original (h, w) for `unpad`.
    """
    padded, box = pad_for_model(img, multiple, square=False)
    return padded, box[2:]


def model_shape(h: int, w: int, multiple: int, square: bool) -> tuple[int, int]:
    """The padded (H, W) an h x w image is given to the model as."""
    if square:
        side = round_up(max(h, w), multiple)
        return side, side
    return round_up(h, multiple), round_up(w, multiple)


def pad_for_model(img: np.ndarray, multiple: int, square: bool
                  ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Pad an HWC image by edge replication to model_shape: centred on a square canvas with
    `square`, else at the bottom/right. Returns the padded image and (top, left, h, w) of the
    original inside it, for `unpad`."""
    h, w = img.shape[:2]
    th, tw = model_shape(h, w, multiple, square)
    top, left = ((th - h) // 2, (tw - w) // 2) if square else (0, 0)
    if (th, tw) == (h, w):
        return img, (0, 0, h, w)
    padded = cv2.copyMakeBorder(img, top, th - h - top, left, tw - w - left, cv2.BORDER_REPLICATE)
    return padded, (top, left, h, w)


def unpad(arr: np.ndarray, box: tuple[int, ...]) -> np.ndarray:
    """Crop the last two axes (…, H, W) of a mask or NCHW batch back to `box`: (top, left, h, w)
    from pad_for_model, or (h, w) from pad_to_multiple."""
    top, left, h, w = box if len(box) == 4 else (0, 0, *box)
    return arr[..., top : top + h, left : left + w]


def round_up(v: int, m: int) -> int:
    """The smallest multiple of m that is >= v."""
    return -(-v // m) * m


def resize_image(img: np.ndarray, h: int, w: int, resample: str = "area") -> np.ndarray:
    """Resize an HWC uint8 image; INTER_AREA when shrinking avoids aliasing on fine texture."""
    if img.shape[:2] == (h, w):
        return img
    if resample == "lanczos":
        return _pil_lanczos(img, h, w)
    shrinking = h * w < img.shape[0] * img.shape[1]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def resize_mask(mask: np.ndarray, h: int, w: int, resample: str = "area") -> np.ndarray:
    """Resize an HW float32 mask with bilinear interpolation (smooth edges when upscaling), or
    PIL's Lanczos with resample="lanczos"."""
    if mask.shape[:2] == (h, w):
        return mask
    if resample == "lanczos":
        return _pil_lanczos(np.ascontiguousarray(mask, np.float32), h, w)
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)


def _pil_lanczos(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image

    return np.array(Image.fromarray(arr).resize((w, h), Image.Resampling.LANCZOS))


def stretch(p: np.ndarray) -> np.ndarray:
    """p rescaled to [0, 1] by its own min and max (unchanged where it is flat)."""
    lo, hi = float(p.min()), float(p.max())
    return (p - lo) * (1.0 / (hi - lo)) if hi > lo else p


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))).astype(np.float32)


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    p = np.clip(p, eps, 1.0 - eps)
    return np.log(p / (1.0 - p)).astype(np.float32)
