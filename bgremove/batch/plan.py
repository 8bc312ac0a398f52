"""What a run does with each image, and why: new, changed, unchanged, or failed before.

`plan` walks IN (discovery, output names, --include/--exclude) and `decide` takes each image's
decision against the manifest. The driver and `--dry-run` both go through them, so a dry run
lists exactly what the run would then do:

- unchanged: same size and modification time, same options and model, every output still there
  with the size it was written with. Skipped.
- changed: the file, the options or the outputs differ from the manifest's row. Processed; when
  only rendering options changed and the mask cache holds the image's mask for this model
  (maskcache.py), rendered from it without a network pass.
- failed before: this version of the file failed in an earlier run (the reason is kept). Retried.
- new: never processed.

The manifest key splits in two: the model key (weights' content hash, --tta, --clean, --preset,
--threshold: what the mask depends on) and the full key (the model key's parts plus every
rendering option: formats, quality, colour, crop, margin, canvas, decontamination).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bgremove.batch import maskcache, storage
from bgremove.batch.discover import DiscoveryStats, Found, output_paths
from bgremove.batch.manifest import Manifest, Row, file_digest, options_key
from bgremove.batch.options import RunOptions
from bgremove.batch.select import Selection
from bgremove.imaging.outputs import output_names

NEW, CHANGED, UNCHANGED, FAILED = "new", "changed", "unchanged", "failed before"
_MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Keys:
    full: str  # every option that changes the output bytes, and the model
    model: str  # what the mask depends on


def weights_file(options: RunOptions) -> Path | None:
    """The weights a run uses (a missing file is a ConfigError); None with a backend factory."""
    if options.backend_factory is not None:
        return None
    from bgremove.inference.backends import resolve_weights

    return resolve_weights(options.weights, int8=not _on_gpu(options))


def _on_gpu(options: RunOptions) -> bool:
    """Whether a run's default weights are the GPU's (fp32) rather than the CPU's (int8). A Ray
    run knows its cluster's GPUs only once connected, so there only --device cuda says so: an
    auto run on a GPU cluster is keyed as int8 while its actors load fp32 (the same key every
    time, so resuming works; masks within 0.005 IoU of each other)."""
    if options.backend == "ray":
        return options.device == "cuda"
    from bgremove.batch.local import use_gpu

    return use_gpu(options)


def model_identity(options: RunOptions, weights: Path | None, manifest: Manifest | None) -> str:
    """What identifies the model's behaviour: the weights' content hash, not their path
    (cached in the manifest by path, size and modification time)."""
    factory = options.backend_factory
    if factory is not None:
        return f"factory:{factory.__module__}.{factory.__qualname__}"
    assert weights is not None
    return "sha256:" + (manifest.weights_digest(weights) if manifest else file_digest(weights))


def run_keys(options: RunOptions, model: str) -> Keys:
    """`model`: the weights' identity (their content hash). The full key's formula is the one of
    earlier versions, so their manifests stay valid."""
    output = options.output
    # --clean, --no-zoom and --mirror join the keys only when set, so manifests written before
    # they existed stay valid (the zoom's share and the mirror's level are part of the weights,
    # hence of `model`)
    flags: dict = {"clean": True} if options.clean else {}
    if not options.zoom:
        flags["zoom"] = False
    if options.mirror:
        flags["mirror"] = True
    full = options_key({"v": _MANIFEST_VERSION, "output": output.key_parts(), "tta": options.tta,
                        "preset": options.preset, "model": model, **flags})
    mask = options_key({"v": _MANIFEST_VERSION, "model": model, "tta": options.tta,
                        "preset": options.preset, "threshold": output.threshold, **flags})
    return Keys(full, mask)


@dataclass(frozen=True)
class Decision:
    state: str  # NEW, CHANGED, UNCHANGED or FAILED
    reason: str
    reuse: Row | None = None  # the row whose cached mask (coverage, flags) rendering may use


@dataclass(frozen=True)
class Planned:
    """One image found under IN: where its outputs go, and what to do with it."""

    found: Found
    outputs: dict[str, str]  # kind -> path in OUT
    rel_outputs: list[str]  # the same, relative to OUT (what the manifest stores)
    decision: Decision
    mask_cache: str | None  # where this version's mask is cached (None: no cache)


def decide(manifest: Manifest | None, found: Found, keys: Keys, rel_outputs: list[str],
           cache: str | None, force: bool = False) -> Decision:
    """The decision for one image (module docstring). `cache`: its mask cache file, if any."""
    row = manifest.row(found.rel) if manifest is not None else None
    same_file = row is not None and (row.size, row.mtime_ns) == (found.size, found.mtime_ns)
    if same_file and not force and row.key == keys.full and row.outputs == rel_outputs \
            and manifest.outputs_intact(row):
        return Decision(UNCHANGED, "outputs up to date")
    failure = manifest.failure(found.rel) if manifest is not None else None
    if failure is not None and (failure.size, failure.mtime_ns) == (found.size, found.mtime_ns):
        return Decision(FAILED, f"failed before: {failure.error}")
    if row is None:
        return Decision(NEW, "changed since it failed" if failure else "not processed before")
    if not same_file:
        return Decision(CHANGED, "file modified")
    reuse = row if not force and cache is not None and row.model_key == keys.model \
        and os.path.exists(cache) else None
    if force:
        why = "--force"
    elif row.key == keys.full and row.outputs == rel_outputs:
        why = "outputs missing or modified"
    elif row.model_key is None:
        why = "options changed"
    elif row.model_key != keys.model:
        why = ("model options changed (weights, --tta, --clean, --no-zoom, --mirror, --preset "
               "or --threshold)")
    else:
        why = "rendering options changed"
    return Decision(CHANGED, why + ("; mask from the cache, no network pass" if reuse else ""),
                    reuse)


def plan(options: RunOptions, in_dir: storage.Location, out_dir: storage.Location,
         manifest: Manifest | None, keys: Keys, stats: DiscoveryStats) -> Iterator[Planned | Found]:
    """Every image under IN with its decision, streamed; a Found with `error` for entries that
    could not be listed or stat'ed. Images that --include/--exclude leave out are only counted."""
    selection = Selection.of(options.include, options.exclude)
    suffixes = list(output_names("", options.output).values())
    cache_on = options.mask_cache and not storage.is_url(out_dir)
    for found in storage.find_images(in_dir, stats, suffixes):
        if found.error is not None:
            yield found
            continue
        if selection and not selection.wants(found.rel):
            stats.excluded += 1
            continue
        names = output_names(found.stem, options.output)
        outs = output_paths(out_dir, found, names)
        rel_outs = [posixpath.join(posixpath.dirname(found.rel), name) for name in names.values()]
        cache = maskcache.cache_path(str(out_dir), found.rel, found.size, found.mtime_ns,
                                     keys.model) if cache_on else None
        decision = decide(manifest, found, keys, rel_outs, cache, options.force)
        yield Planned(found, outs, rel_outs, decision, cache)


def in_folder(in_dir: storage.Location) -> str | None:
    """The local folder the manifest's paths are relative to (a single image: its folder)."""
    if storage.is_url(in_dir):
        return None
    path = Path(in_dir)
    return str(path.parent if path.is_file() else path)
