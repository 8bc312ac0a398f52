"""The library interface: `Remover` holds a loaded model; `remove` is the one-call shortcut.

    from bgremove import Remover, remove
    rgba = remove("shoe.jpg")                      # HWC uint8 RGBA, like rembg
    r = Remover(tta=True)                          # load once, reuse for a folder
    alpha = r.mask("shoe.jpg")                     # HW float32 in [0, 1], full resolution
    res = r.process("shoe.jpg", OutputOptions(bg_color="white"))
    res.outputs["cutout"], res.outputs["composite"]  # encoded bytes, see outputs.output_names

Images may be paths, encoded bytes, PIL images or HWC uint8 RGB arrays. Input transparency is
respected: the predicted mask is multiplied by the input's alpha.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgremove.errors import ConfigError
from bgremove.imaging.compose import cutout_rgba, decontaminate, final_alpha, render_outputs
from bgremove.imaging.outputs import OutputOptions
from bgremove.imaging.read import DEFAULT_MAX_PIXELS, ImageSource, LoadedImage, read_image
from bgremove.inference.backends.base import Backend
from bgremove.inference.cleanup import Cleanup
from bgremove.inference.guided import guided_filter
from bgremove.inference.preprocess import (
    Preprocessing,
    normalise,
    pad_for_model,
    resize_image,
    resize_mask,
    sigmoid,
    stretch,
    unpad,
)
from bgremove.inference.sharpen import sharpen
from bgremove.inference.tiling import TileConfig, predict_masks
from bgremove.inference.tta import DEFAULT_SCALES, PredictFn, transforms
from bgremove.inference.zoom import crop, mirror_mean, paste, zoom_box


@dataclass
class Result:
    """One processed image: the full-resolution mask, the encoded outputs and the input."""

    mask: np.ndarray
    outputs: dict[str, bytes]
    image: LoadedImage


class Remover:
    """A loaded model plus inference settings, reusable across images.

    tta: also predict on a horizontal flip and on `tta_scales` (merged by mean probability;
    ~5x slower). tile_size / tile_overlap / tile_threshold: see bgremove.inference.tiling.TileConfig;
    `tiles` (a whole TileConfig) overrides them. batch_size: images per model call.
    backend: an already loaded Backend (tests inject fakes); otherwise `weights`, `device`,
    `threads` and `preset` go to bgremove.inference.backends.load_backend (None = the bundled weights).
    cleanup: a bgremove.inference.cleanup.Cleanup applied to every mask (None = the mask as predicted).
    zoom: the largest share of a photo a small object's crop may cover to be predicted again
    (bgremove.inference.zoom); None = the weights file's own setting, 0 = never.
    mirror_busy: how busy a photo's backdrop must be for its global pass to be averaged with its
    mirror view's (bgremove.inference.mirror); 0 (the default) = never, None = the level
    stored with the weights (`--mirror`). Off by default: one more network call at the input
    size for each busy scene, which a folder of scenes pays in throughput.
    """

    def __init__(
        self,
        weights: str | Path | None = None,
        *,
        device: str = "auto",
        threads: int | None = None,
        tta: bool = False,
        tile_size: int | None = None,
        tile_overlap: float = 0.25,
        tile_threshold: float | None = None,
        preset: str | None = None,
        backend: Backend | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        batch_size: int = 4,
        tta_scales: Sequence[float] = DEFAULT_SCALES,
        tiles: TileConfig | None = None,
        cleanup: Cleanup | None = None,
        zoom: float | None = None,
        mirror_busy: float | None = 0.0,
    ) -> None:
        # Only what the caller set overrides TileConfig's measured defaults (kept in one place).
        given = {"threshold": tile_threshold} if tile_threshold is not None else {}
        self.tiles = tiles or TileConfig(
            tile_size=tile_size, overlap=tile_overlap, batch_size=batch_size, **given
        )
        if backend is None:
            from bgremove.inference.backends import load_backend  # loads torch/onnxruntime: only on use

            backend = load_backend(weights, device=device, threads=threads, preset=preset)
        self.backend = backend
        self.max_pixels = max_pixels
        self.cleanup = cleanup
        self.zoom = zoom
        self.mirror_busy = mirror_busy
        # A square model is resized to input_size x input_size whatever we feed it: scaling is moot.
        scales = (1.0,) if self.preprocessing.square else tuple(tta_scales)
        self.transforms = transforms(scales, flip=True) if tta else []
        self._predict = backend_predictor(backend, batch_size)
        self._tile_predict = backend_predictor(backend, batch_size, guide=False)

    @property
    def preprocessing(self) -> Preprocessing:
        return self.backend.preprocessing

    @property
    def name(self) -> str:
        return self.backend.name

    def load(self, image: ImageSource | LoadedImage) -> LoadedImage:
        if isinstance(image, LoadedImage):
            return image
        return read_image(image, self.max_pixels)

    def mask(self, image: ImageSource | LoadedImage) -> np.ndarray:
        """HW float32 alpha in [0, 1] at the input's full resolution.

        Pass the LoadedImage (not its .rgb) to keep the input's own transparency in the mask.
        """
        return self.masks([image])[0]

    def masks(self, images: Sequence[ImageSource | LoadedImage]) -> list[np.ndarray]:
        """`mask` for several images; their global passes share model batches. (With int8
        weights, onnxruntime's answer for an image depends slightly on its batch: the bundled
        default for batches of different images is fp32, `load_backend(batched=True)`.)"""
        loaded = [self.load(im) for im in images]
        pre = self.preprocessing
        rgbs = [im.rgb for im in loaded]
        level = self.preprocessing.mirror_busy if self.mirror_busy is None else self.mirror_busy
        alphas = self._zoomed(rgbs, self._predict_masks(rgbs, level))
        if self.cleanup is not None:  # its thresholds were tuned on the network's probabilities
            alphas = [self.cleanup(a) for a in alphas]
        alphas = [sharpen(a, pre.sharpen, out=a) for a in alphas]  # each is this call's own
        for im, alpha in zip(loaded, alphas, strict=True):
            if im.alpha is not None:
                alpha *= im.alpha.astype(np.float32) * (1.0 / 255.0)
        return alphas

    def first_pass(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """The network's own HW probabilities for HWC uint8 images (tiled where large, --tta's
        views merged): without the mirror, the zoom, clean-up and sharpening."""
        return self._predict_masks(images)

    def _predict_masks(self, images: list[np.ndarray], mirror_level: float = 0.0
                       ) -> list[np.ndarray]:
        return predict_masks(self._predict, images, self.preprocessing, self.tiles,
                             self.transforms, refine_predict=self._tile_predict,
                             mirror_level=mirror_level)

    def _zoomed(self, images: list[np.ndarray], alphas: list[np.ndarray]) -> list[np.ndarray]:
        """Each small object's mask predicted again on a crop around it (inference/zoom.py)."""
        max_area = self.preprocessing.zoom if self.zoom is None else self.zoom
        boxes = [zoom_box(a, max_area) for a in alphas]
        todo = [i for i, box in enumerate(boxes) if box is not None]
        if todo:
            crops = [crop(images[i], boxes[i]) for i in todo]
            # --tta's transforms mirror every view already: the mirror would add calls, not views
            mirror = self.preprocessing.zoom_mirror and not self.transforms
            again = mirror_mean(self._predict_masks, crops) if mirror else self._predict_masks(crops)
            for i, crop_alpha in zip(todo, again, strict=True):
                paste(alphas[i], crop_alpha, boxes[i])
        return alphas

    def process(
        self, image: ImageSource | LoadedImage, options: OutputOptions | None = None
    ) -> Result:
        """Predict the mask and encode the outputs `options` asks for (default: PNG cutout)."""
        options = options or OutputOptions()
        loaded = self.load(image)
        alpha = self.mask(loaded)
        outputs = render_outputs(loaded.rgb, alpha, options, loaded.icc_profile)
        return Result(mask=alpha, outputs=outputs, image=loaded)

    def cutout(
        self, image: ImageSource | LoadedImage, *, decontaminate_edges: bool = True
    ) -> np.ndarray:
        """HWC uint8 RGBA at full resolution: the pixels of a default PNG cutout file."""
        loaded = self.load(image)
        a8 = final_alpha(self.mask(loaded))
        rgb = decontaminate(loaded.rgb, a8) if decontaminate_edges else loaded.rgb
        return cutout_rgba(rgb, a8)


def backend_predictor(backend: Backend, batch_size: int = 4, guide: bool = True) -> PredictFn:
    """A function mapping HWC uint8 images to HW float32 probabilities at each image's size.
    guide=False leaves out the file's guided filter (the refinement tiles: weights/MODEL_CARD.md,
    "Guided edges")."""
    pre = backend.preprocessing

    def predict(images: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, img in enumerate(images):
            groups.setdefault(pre.network_shape(*img.shape[:2]), []).append(i)
        for idx in groups.values():
            for k in range(0, len(idx), batch_size):
                chunk = idx[k : k + batch_size]
                probs = _run(backend, [images[i] for i in chunk], guide)
                for i, p in zip(chunk, probs, strict=True):
                    out[i] = p
        return out  # type: ignore[return-value]

    return predict


def _run(backend: Backend, images: list[np.ndarray], guide: bool = True) -> list[np.ndarray]:
    pre = backend.preprocessing
    views, inputs, sizes = [], [], []
    for img in images:
        if pre.square:
            view = resize_image(img, pre.input_size, pre.input_size, pre.resample)
            size = img.shape[:2]
        else:
            view, size = pad_for_model(img, pre.multiple, pre.pad_square)
        views.append(view)
        inputs.append(normalise(view, pre))  # per image: scale_by_max must not mix images
        sizes.append(size)
    x = np.concatenate(inputs)
    y = np.asarray(backend.predict(x), dtype=np.float32)
    if y.ndim != 4 or y.shape[0] != x.shape[0] or y.shape[1] != 1:
        raise ConfigError(f"model {backend.name!r} returned shape {y.shape} for input {x.shape}")
    probs = sigmoid(y[:, 0])  # backends return logits, whatever the model's own output was
    out = []
    for p, view, size in zip(probs, views, sizes, strict=True):
        if pre.minmax:
            p = stretch(p)
        if p.shape != x.shape[2:]:  # some foreign models answer at a lower resolution
            p = resize_mask(p, *x.shape[2:])
        if guide:  # at the network's resolution: cheap at any size
            p = guided_filter(view, p, pre.guide)
        p = resize_mask(p, *size, pre.resample) if pre.square else unpad(p, size)
        out.append(np.ascontiguousarray(np.clip(p, 0.0, 1.0)))
    return out


_cache_lock = threading.Lock()
_cached: tuple[tuple, Remover] | None = None


def remove(
    image: ImageSource,
    weights: str | Path | None = None,
    *,
    options: OutputOptions | None = None,
    **kwargs,
) -> np.ndarray | dict[str, bytes]:
    """Remove the background from one image.

    Without `options`: the cutout as an HWC uint8 RGBA array. With `options`: the encoded
    outputs, {kind: bytes}. `kwargs` go to Remover; the last Remover is kept, so calling
    `remove` in a loop with the same settings loads the model once.
    """
    remover = _remover(weights, kwargs)
    if options is None:
        return remover.cutout(image)
    return remover.process(image, options).outputs


def _remover(weights: str | Path | None, kwargs: dict) -> Remover:
    global _cached
    if kwargs.get("backend") is not None:
        return Remover(weights, **kwargs)
    key = (str(weights), tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    with _cache_lock:
        if _cached is None or _cached[0] != key:
            _cached = None  # let the old model go before the new one loads
            _cached = (key, Remover(weights, **kwargs))
        return _cached[1]
