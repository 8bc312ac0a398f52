"""Training data: folders of image/mask pairs, CopyPaste composites, the optional pre-resized
cache, the seeded train/val split and the DataLoader that streams it all from worker processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from bgremove.imaging.formats import is_image_name
from bgremove.modeltools.evaluate import find_pairs
from train.augment import Compose
from train.copypaste import CopyPaste, Item
from train.loss import boundary_weights, confidence_weights
from train.sampler import StreamSampler

COMPLETE = ".complete"  # written last by prepare_cache: a half-written cache is never used


@dataclass
class Source:
    """One weighted training source: plain pairs, or donors pasted by `copypaste`."""

    name: str
    items: list[Item]
    weight: float
    copypaste: CopyPaste | None = None
    # "gt": human masks (boundary-weighted loss); "teacher": a model's soft labels, and
    # composites, whose labels may come from one (confidence-weighted loss).
    kind: str = "gt"


# ---------------------------------------------------------------- folders and the cache
def parse_set(spec: str | dict, default_weight: float = 1.0) -> tuple[str, float]:
    """'dir' or 'dir:weight' or {"dir": ..., "weight": ...} -> (dir, weight)."""
    if isinstance(spec, dict):
        return str(spec["dir"]), float(spec.get("weight", default_weight))
    head, _, tail = str(spec).rpartition(":")
    try:
        return (head, float(tail)) if head else (str(spec), default_weight)
    except ValueError:
        return str(spec), default_weight


def resolve_dir(path: str | Path, data_root: str | Path) -> Path:
    """Absolute paths as they are; a relative path under `data_root` when it exists there,
    else relative to the working directory (your own catalog)."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    under_root = Path(data_root).expanduser() / p
    return (under_root if under_root.exists() else p).resolve()


def cache_slug(directory: Path) -> str:
    digest = hashlib.sha1(str(directory.resolve()).encode()).hexdigest()[:8]
    return f"{directory.parent.name}-{directory.name}-{digest}"


def cached_dir(directory: Path, cache_root: str | Path | None) -> Path:
    """The pre-resized copy of `directory` when prepare_cache finished one, else the original."""
    if not cache_root:
        return directory
    candidate = Path(cache_root) / cache_slug(directory)
    return candidate if (candidate / COMPLETE).exists() else directory


def plain_images(directory: Path) -> list[Item]:
    return [(p, None) for p in sorted(directory.iterdir()) if is_image_name(p.name)]


def folder_items(directory: Path) -> list[Item]:
    """Pairs from a set folder (images/ + masks/), or mask-less images from a plain folder."""
    if (directory / "images").is_dir() and (directory / "masks").is_dir():
        return [(i, m) for i, m in find_pairs(directory)]
    return plain_images(directory)


def split_items(items: list, fraction: float, seed: int, key: str,
                count: int = 0) -> tuple[list, list]:
    """(train, held out): a seeded, per-folder split so the same folder always splits the same
    way (donor lists and pair lists of one folder agree on what is held out). Holds out
    `count` items when given, else `fraction` of them."""
    if fraction <= 0 and count <= 0:
        return list(items), []
    salt = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)
    order = np.random.default_rng([seed, salt]).permutation(len(items))
    n_val = min(count, len(items) - 1) if count > 0 else max(1, int(round(len(items) * fraction)))
    held = set(order[:n_val].tolist())
    return ([x for i, x in enumerate(items) if i not in held],
            [x for i, x in enumerate(items) if i in held])


# ---------------------------------------------------------------- decoding
def load_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_pair(item: Item) -> tuple[np.ndarray, np.ndarray]:
    """HWC uint8 RGB and HW float32 [0, 1] mask (zeros for a mask-less background photo)."""
    image_path, mask_path = item
    img = load_rgb(image_path)
    if mask_path is None:
        return img, np.zeros(img.shape[:2], np.float32)
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise OSError(f"cannot read mask {mask_path}")
    if mask.shape != img.shape[:2]:
        mask = cv2.resize(mask, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    return img, mask.astype(np.float32) * (1.0 / 255.0)


# ---------------------------------------------------------------- dataset and loader
class StreamDataset(Dataset):
    """Indexed by the sampler's (source, item, pos); `pos` seeds the sample's augmentation."""

    def __init__(self, sources: list[Source], augment: Compose, seed: int,
                 boundary_amplitude: float = 4.0, boundary_sigma: float = 3.0,
                 teacher_confidence: bool = False) -> None:
        self.sources, self.augment, self.seed = sources, augment, int(seed)
        self.boundary = (boundary_amplitude, boundary_sigma)
        self.teacher_confidence = teacher_confidence

    def __len__(self) -> int:
        return sum(len(s.items) for s in self.sources)

    def sample(self, source: int, item: int, pos: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, pos])
        src = self.sources[source]
        for attempt in range(3):
            # One unreadable file in a big catalog must not end a long run: take the next item.
            index = (item + attempt) % len(src.items)
            try:
                if src.copypaste is not None:
                    img, mask = src.copypaste(index, rng)
                else:
                    img, mask = load_pair(src.items[index])
                return self.augment(img, mask, rng)
            except OSError as exc:
                print(f"warning: skipping {src.name} item {index}: {exc}", flush=True)
        raise OSError(f"{src.name}: three unreadable items in a row near item {item}")

    def __getitem__(self, key: tuple[int, int, int]) -> dict[str, torch.Tensor]:
        img, mask = self.sample(*key)
        valid = np.ones(mask.shape[:2], np.float32)
        if mask.ndim == 3:  # (label, valid region) from an augmenter built with_valid
            mask, valid = np.ascontiguousarray(mask[..., 0]), np.ascontiguousarray(mask[..., 1])
        if self.teacher_confidence and self.sources[key[0]].kind != "gt":
            weight = confidence_weights(mask)
        else:
            weight = boundary_weights(mask, *self.boundary)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),  # uint8 CHW
            "mask": torch.from_numpy(mask[None].astype(np.float32)),
            "weight": torch.from_numpy((weight * valid)[None]),
            "valid": torch.from_numpy(valid[None]),
            "source": torch.tensor(key[0]),
        }


def _init_worker(worker_id: int, seed: int = 0, epoch: int = 0) -> None:
    # Samples draw from their own (seed, pos) generators; the global generators are seeded
    # anyway (base seed + epoch + worker id) for any library code that reaches for them.
    np.random.seed([seed, epoch, worker_id])
    torch.manual_seed(hash((seed, epoch, worker_id)) & 0x7FFFFFFF)
    # Two cores: a worker that spawns its own thread pools would fight the training step.
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _mp_context() -> str:
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def make_loader(dataset: StreamDataset, sampler: StreamSampler, batch_size: int,
                workers: int, seed: int, epoch: int, pin_memory: bool = False) -> DataLoader:
    from functools import partial

    kwargs = {}
    if workers > 0:
        # Not fork: a child forked after the parent ran OpenMP/OpenCV thread pools can deadlock
        # on their locks (it did here, before the worker's first line). forkserver children
        # start from a clean process; they cost a second or two once, as workers persist.
        kwargs = {"persistent_workers": True, "prefetch_factor": 4,
                  "multiprocessing_context": _mp_context(),
                  "worker_init_fn": partial(_init_worker, seed=seed, epoch=epoch)}
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      drop_last=True, pin_memory=pin_memory, **kwargs)
