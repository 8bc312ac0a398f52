"""Validation during training: every val set scored separately with bgremove.modeltools.metrics, at the
ground truth's resolution, exactly as `bgremove eval` scores a weights file.

The val images are decoded and resized to the model's input once, at start-up, and kept in
memory: re-reading them every epoch would cost more than the forward passes on a small CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from bgremove.inference.preprocess import (
    Preprocessing,
    pad_for_model,
    resize_image,
    resize_mask,
    unpad,
)
from bgremove.modeltools.evaluate import select_subset
from bgremove.modeltools.metrics import METRICS, MetricAccumulator, mean_over_sets
from train.copypaste import Item
from train.data import load_pair
from train.loss import SegLoss, boundary_weights


@dataclass
class ValSet:
    name: str
    items: list[Item]


@dataclass
class ValSample:
    x: np.ndarray  # HWC uint8, resized to the input size and padded to the stride multiple
    box: tuple[int, int, int, int]  # (top, left, h, w) of the resized image inside the padding
    gt: np.ndarray  # HW uint8 0..255 at the original resolution


def prepare_sample(item: Item, pre: Preprocessing) -> ValSample:
    img, mask = load_pair(item)
    # The global pass's own size: the long side fitted, or with `square` the stretched input
    # (already a multiple of the stride, so nothing is padded and the box is the whole input).
    h, w = pre.global_size(*img.shape[:2])
    x, box = pad_for_model(resize_image(img, h, w), pre.multiple, pre.pad_square)
    return ValSample(x, box, np.round(mask * 255).astype(np.uint8))


class Validator:
    def __init__(self, sets: list[ValSet], pre: Preprocessing, limit: int = 0,
                 batch_size: int = 8) -> None:
        self.pre, self.batch_size = pre, batch_size
        self.sets = [(s.name, [prepare_sample(it, pre) for it in select_subset(s.items, limit)])
                     for s in sets]
        self.sets = [(name, samples) for name, samples in self.sets if samples]

    def __bool__(self) -> bool:
        return bool(self.sets)

    @torch.inference_mode()
    def run(self, forward, loss_fn: SegLoss, device: torch.device) -> dict[str, dict]:
        """forward: normalised NCHW float tensor -> logits. Returns {set: {metric: mean}},
        each set also carrying 'loss' (at model resolution) and 'n', plus a 'mean' entry."""
        acc, losses = MetricAccumulator(), {}
        start = time.perf_counter()
        for name, samples in self.sets:
            total, count = 0.0, 0
            for batch in _same_shape_batches(samples, self.batch_size):
                logits = forward(self._tensor(batch, device)).float().cpu().numpy()[:, 0]
                for sample, logit in zip(batch, logits, strict=True):
                    total += self._score(name, sample, logit, acc, loss_fn)
                    count += 1
            losses[name] = total / max(count, 1)
        results = acc.summary()
        for name in results:
            results[name]["loss"] = losses[name]
        if results:
            results["mean"] = {m: mean_over_sets(results, m) for m in (*METRICS, "loss")}
        self.seconds = time.perf_counter() - start
        return results

    def _tensor(self, batch: list[ValSample], device: torch.device) -> torch.Tensor:
        x = torch.from_numpy(np.stack([s.x for s in batch])).to(device)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(self.pre.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(self.pre.std, device=device).view(1, 3, 1, 1)
        return ((x - mean) / std).contiguous(memory_format=torch.channels_last)

    @staticmethod
    def _score(name: str, sample: ValSample, logit: np.ndarray, acc: MetricAccumulator,
               loss_fn: SegLoss) -> float:
        h, w = sample.box[2:]
        logit = unpad(logit, sample.box)
        gt = sample.gt.astype(np.float32) / 255.0
        small_gt = cv2.resize(gt, (w, h), interpolation=cv2.INTER_AREA)
        weight = boundary_weights(small_gt, loss_fn.amplitude, loss_fn.sigma)
        loss, _ = loss_fn(*(torch.from_numpy(a)[None, None] for a in (logit, small_gt, weight)))
        prob = 1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))
        acc.update(name, resize_mask(prob.astype(np.float32), *gt.shape), gt)
        return float(loss)


def _same_shape_batches(samples: list[ValSample], size: int):
    batch: list[ValSample] = []
    for s in samples:
        if batch and (len(batch) == size or batch[0].x.shape != s.x.shape):
            yield batch
            batch = []
        batch.append(s)
    if batch:
        yield batch
