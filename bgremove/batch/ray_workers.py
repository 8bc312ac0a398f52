"""What the Ray backend runs on the cluster's workers (ray_backend.py builds the graph).

Every function takes and returns a batch of Ray Data columns. Rows are small task records (a
worker.Task as JSON) and come back as ImageResult JSON; only the GPU graph moves pixels between
stages, as pickled LoadedImage / mask bytes. The per-image work is worker.py's, unchanged:
process_one on CPU actors; read_task_image, Remover.masks and write_outputs in the GPU graph.

A ConfigError (unusable weights) is not raised through Ray, where it would read like a crash:
it travels in the `fatal` column and the driver raises it.
"""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import asdict

import numpy as np

from bgremove.batch.worker import (
    Task,
    WorkerConfig,
    failed_result,
    from_cache,
    get_remover,
    process_one,
    read_task_image,
    write_outputs,
)
from bgremove.errors import ConfigError


def task_to_json(task: Task) -> str:
    # ASCII JSON: file names that are not valid UTF-8 (surrogate escapes) survive the round trip
    # and Arrow stores them as plain strings.
    return json.dumps(asdict(task))


def task_from_json(text: str) -> Task:
    return Task(**json.loads(text))


def _load(config: WorkerConfig) -> str:
    """Load this process's model now (once per actor); a ConfigError becomes the `fatal` text
    the driver raises, instead of a Ray error nobody could tell from a crash."""
    try:
        get_remover(config)
    except ConfigError as exc:
        return str(exc) or type(exc).__name__
    return ""


class CpuActor:
    def __init__(self, config: WorkerConfig) -> None:
        self.config, self.fatal = config, _load(config)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results, fatal = [], []
        for text in batch["task"]:
            result, error = "", self.fatal
            if not error:
                try:
                    result = process_one(self.config, task_from_json(text)).to_json()
                except ConfigError as exc:
                    error = str(exc)
            results.append(result)
            fatal.append(error)
        return {"result": _objects(results), "fatal": _objects(fatal)}


def decode(batch: dict[str, np.ndarray], config: WorkerConfig) -> dict[str, np.ndarray]:
    """Read images: a pickled LoadedImage each, or, in `failed`, the JSON of a result that is
    already final: the image failed, or it was rendered here from its cached mask (no GPU)."""
    images, failed, seconds = [], [], []
    for text in batch["task"]:
        start, image, error = time.perf_counter(), b"", ""
        try:
            task = task_from_json(text)
            loaded = read_task_image(config, task.path)
            if (done := from_cache(config, task, loaded, start)) is not None:
                error = done.to_json()
            else:
                image = pickle.dumps(loaded, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - one bad image never stops the catalog
            error = failed_result(task_from_json(text), exc, start).to_json()
        images.append(image)
        failed.append(error)
        seconds.append(time.perf_counter() - start)
    return {"task": batch["task"], "image": _objects(images), "failed": _objects(failed),
            "seconds": np.array(seconds, np.float64)}


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


class GpuActor:
    """Masks for a batch of decoded images; the Remover groups them by network input shape."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config, self.fatal = config, _load(config)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n, start = len(batch["task"]), time.perf_counter()
        failed, alphas, fatal = list(batch["failed"]), [b""] * n, self.fatal
        todo = [i for i in range(n) if not failed[i]] if not fatal else []
        masks, sharpen = [], 1.0
        try:
            if todo:
                remover = get_remover(self.config)
                masks = remover.masks([pickle.loads(batch["image"][i]) for i in todo])
                sharpen = remover.preprocessing.sharpen
        except ConfigError as exc:  # the model itself is unusable: the run stops
            fatal, todo = str(exc) or type(exc).__name__, []
        except Exception as exc:  # noqa: BLE001 - a failing batch fails its images
            for i in todo:
                failed[i] = failed_result(task_from_json(batch["task"][i]), exc, start).to_json()
        else:
            for i, alpha in zip(todo, masks, strict=True):
                alphas[i] = pickle.dumps(alpha, pickle.HIGHEST_PROTOCOL)
        share = (time.perf_counter() - start) / max(1, len(todo))
        return {**batch, "alpha": _objects(alphas), "failed": _objects(failed),
                "seconds": batch["seconds"] + share, "fatal": _objects([fatal] * n),
                "sharpen": np.full(n, sharpen)}  # the weights' edge sharpening, for the flags


def write(batch: dict[str, np.ndarray], config: WorkerConfig) -> dict[str, np.ndarray]:
    """Render and write each image; its `ms` adds up the time of all three stages."""
    results = []
    for i, text in enumerate(batch["task"]):
        result = batch["failed"][i]
        if not result and not batch["fatal"][i]:
            task = task_from_json(text)
            start = time.perf_counter() - float(batch["seconds"][i])
            try:
                image, alpha = pickle.loads(batch["image"][i]), pickle.loads(batch["alpha"][i])
                result = write_outputs(config, task, image, alpha, start,
                                       float(batch["sharpen"][i])).to_json()
            except Exception as exc:  # noqa: BLE001 - e.g. a full disk: this image fails
                result = failed_result(task, exc, start).to_json()
        results.append(result)
    return {"result": _objects(results), "fatal": batch["fatal"]}
