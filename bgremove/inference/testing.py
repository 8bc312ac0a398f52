"""Deterministic stand-in backends for tests and demos: no weights, no onnxruntime, no torch.

They live in the package (not in tests/) because worker processes must import them by name:
`RunOptions(backend_factory=bgremove.inference.testing.fake_backend)` pickles as a reference to this module.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from bgremove.inference.preprocess import Preprocessing


class FakeBackend:
    """Foreground = pixels far from white: logits grow with the colour distance to (255,255,255).

    Good enough for product shots on white: a coloured square on white gives a square mask.
    """

    name = "fake"

    def __init__(self, input_size: int = 128, delay: float = 0.0) -> None:
        self.preprocessing = Preprocessing(input_size=input_size, multiple=32)
        self.delay = delay
        self.calls = 0

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay * batch.shape[0])
        pre = self.preprocessing
        mean = np.asarray(pre.mean, np.float32)[None, :, None, None]
        std = np.asarray(pre.std, np.float32)[None, :, None, None]
        rgb = batch * std + mean  # back to [0, 1]
        distance = np.abs(1.0 - rgb).sum(axis=1, keepdims=True)
        return ((distance - 0.3) * 20.0).astype(np.float32)


def fake_backend() -> FakeBackend:
    return FakeBackend()


def slow_fake_backend() -> FakeBackend:
    """0.15 s per image: long enough for a test to interrupt a run half way."""
    return FakeBackend(delay=0.15)


def broken_backend() -> FakeBackend:
    """Stands for weights that fail to load: the run must stop with a ConfigError."""
    from bgremove.errors import WeightsError

    raise WeightsError("fake weights are broken")


class _CrashOnRed(FakeBackend):
    def predict(self, batch: np.ndarray) -> np.ndarray:
        rgb = batch * np.asarray(self.preprocessing.std, np.float32)[None, :, None, None]
        rgb += np.asarray(self.preprocessing.mean, np.float32)[None, :, None, None]
        means = rgb.mean(axis=(0, 2, 3))
        if means[0] > 0.9 and means[1] < 0.1 and means[2] < 0.1:
            os._exit(3)  # a worker dying mid-image, as the OOM killer would do it
        return super().predict(batch)


def crash_on_red_backend() -> FakeBackend:
    """Kills its process on an all-red image: tests that a dead worker does not end the run."""
    return _CrashOnRed()


NETWORK_PASSES: list[int] = []  # one entry (the batch size) per CountingBackend.predict call


class _Counting(FakeBackend):
    def predict(self, batch: np.ndarray) -> np.ndarray:
        NETWORK_PASSES.append(int(batch.shape[0]))
        return super().predict(batch)


def counting_backend() -> FakeBackend:
    """Counts every network pass in NETWORK_PASSES (in this process: run with workers=1)."""
    return _Counting()


def zooming_counting_backend() -> FakeBackend:
    """A counting backend whose 'weights' ask for the zoom (0.5): a small object costs 2 passes."""
    backend = _Counting()
    backend.preprocessing = dataclasses.replace(backend.preprocessing, zoom=0.5)
    return backend


def mirroring_counting_backend() -> FakeBackend:
    """A counting backend whose 'weights' ask for the mirror on busy scenes (level 5): a photo
    on a textured backdrop costs 2 passes, one on a flat backdrop 1. At the bundled model's
    input size, which the busyness is read at."""
    backend = _Counting(input_size=320)
    backend.preprocessing = dataclasses.replace(backend.preprocessing, mirror_busy=5.0)
    return backend
