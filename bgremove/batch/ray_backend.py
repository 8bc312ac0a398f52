"""`bgremove run --backend ray`: the same job on a Ray cluster (needs the `ray` extra).

The driver (driver.py, in this process) walks IN_DIR, filters by the manifest and records every
result, exactly as with the local backend; only the dispatch differs. The images still to do
become a Ray Dataset of small task records (paths, never pixels), in waves of at most _WAVE so
the driver's memory stays bounded on catalogs of millions, and the driver consumes the stream of
results as it arrives (iter_rows), recording manifest rows and report lines one by one.

- CPU actors (a cluster without GPUs): one map_batches stage on an actor pool; each actor loads
  the model once and runs worker.process_one per image, the function the local CPU workers run:
  read -> mask -> render -> write atomically, on the node that holds the actor. Pixels never
  enter the object store (on 2 cores, 1.6x faster than separate decode/write stages).
- GPU actors: decode (Ray tasks) -> masks in batches of --batch-size (one actor per GPU, model
  loaded once) -> render and write (Ray tasks): the CPU-heavy decoding and PNG encoding spread
  over every CPU of the cluster while the GPUs run only the network.

Paths must name the same files on every node (a shared filesystem mounted at the same place).

Failures: Ray restarts a dead actor and retries its task (a lost node); a block of images whose
task still fails after _TASK_RETRIES retries (say, a decoder crash that kills the worker every
time) is reported failed, image by image, and retried by the next run. Stopping breaks the wave
off: what the driver recorded stays recorded; images in flight are redone by the next run,
their outputs replaced atomically.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from bgremove.batch.dispatch import Driver, remove_partial
from bgremove.batch.options import RunOptions
from bgremove.batch.ray_logs import keep_ray_quiet_at_init, quiet_ray
from bgremove.batch.ray_workers import CpuActor, GpuActor, decode, task_to_json, write
from bgremove.batch.report import ImageResult
from bgremove.batch.worker import Task, WorkerConfig
from bgremove.errors import BgRemoveError, ConfigError, MissingExtraError

_WAVE = 50_000  # tasks per Dataset: bounds the driver's memory, costs one actor start per wave
_TASK_RETRIES = 2
_CONNECT_TIMEOUT_S = 60.0  # joining a cluster takes seconds; starting a local one ~4-10 s
_CPU_BLOCK = 8  # images per CPU block: results come back block by block
_LOST = ("the Ray task holding this image failed after retries (a worker crash or a lost node; "
         "see the Ray logs); the next run retries it")


def require_ray(address: str | None = None) -> None:
    """The `ray` extra is installed, and for a ray:// address Ray Client's gRPC too (the extra
    brings it: ray[data,client])."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingExtraError("ray", "ray", "--backend ray") from None
    if (address or os.environ.get("RAY_ADDRESS") or "").startswith("ray://"):
        try:
            import grpc  # noqa: F401
        except ImportError:
            raise MissingExtraError("ray[client] (grpcio)", "ray", "a ray:// address") from None


@dataclass(frozen=True)
class Plan:
    """How the cluster is used: one actor per GPU, or one per `threads` CPUs."""

    config: WorkerConfig
    gpu: bool
    actors: int
    num_gpus: float
    num_cpus: float


def plan(options: RunOptions, resources: dict[str, float]) -> Plan:
    """device=auto takes the GPU path when the cluster has GPUs; --workers sets the pool size.
    A test backend (backend_factory) with device=cuda runs the GPU graph on CPU actors."""
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    fake = options.backend_factory is not None
    gpu = options.device == "cuda" or (options.device == "auto" and gpus > 0 and not fake)
    if gpu and gpus == 0 and not fake:
        raise ConfigError("--device cuda, but the Ray cluster has no GPUs")
    threads = options.threads or 1
    config = replace(WorkerConfig.from_options(options, "cuda" if gpu else "cpu"),
                     threads=threads)
    if gpu:
        return Plan(config, True, options.workers or max(1, gpus), 1.0 if gpus else 0.0, 1.0)
    return Plan(config, False, options.workers or max(1, cpus // threads), 0.0, float(threads))


def dispatch(driver: Driver, tasks: Iterator[Task]) -> None:
    first = next(tasks, None)
    if first is None:
        return  # nothing to do: Ray is not even started
    tasks = itertools.chain([first], tasks)
    import ray

    with _connected(driver.options.address), quiet_ray():
        the_plan = plan(driver.options, ray.cluster_resources())
        kind = "GPU" if the_plan.gpu else "CPU"
        driver.log(f"bgremove: Ray: {the_plan.actors} {kind} actor(s)")
        driver.stop_message = ("bgremove: stopping now; images still in flight on the Ray "
                               "cluster are redone by the next run")
        while not driver.should_stop():
            wave = list(itertools.islice(tasks, _WAVE))
            if not wave:
                return
            lost = _run_wave(driver, the_plan, wave)
            if lost and not driver.should_stop():
                # One image per block and batch: only an image that kills its worker by
                # itself fails, not the others that happened to share its block.
                lost = _run_wave(driver, the_plan, lost, salvage=True)
            for task in lost if not driver.should_stop() else []:
                driver.finish(task, ImageResult(task.rel, "failed", error=_LOST))


@contextlib.contextmanager
def _connected(address: str | None) -> Iterator[None]:
    """Join (or start) Ray unless this process already did; leave as found. ray.init installs
    its own SIGTERM handler: the driver's stop handlers are put back."""
    import ray

    if ray.is_initialized():
        yield
        return
    _check_reachable(address)
    _init(address)
    try:
        yield
    finally:
        ray.shutdown()


def connect_timeout() -> float:
    return float(os.environ.get("BGREMOVE_RAY_CONNECT_TIMEOUT") or _CONNECT_TIMEOUT_S)


def _init(address: str | None) -> None:
    """ray.init, bounded: against a port that accepts TCP but is no Ray (another service),
    ray.init retries for good. It runs in a thread (which also keeps Ray's SIGTERM handler off
    the driver's own), and a connection that takes longer than connect_timeout() is a
    ConfigError (exit code 2)."""
    import ray

    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            ray.init(address=address, log_to_driver=True, logging_level="WARNING")
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(exc)

    keep_ray_quiet_at_init()
    thread = threading.Thread(target=connect, name="bgremove-ray-init", daemon=True)
    thread.start()
    thread.join(connect_timeout())
    where = address or os.environ.get("RAY_ADDRESS") or "a new local Ray instance"
    if not outcome:
        raise ConfigError(
            f"no Ray cluster answered at {where} within {connect_timeout():.0f} s: is it the "
            "address of a Ray head (GCS port, usually 6379, or ray://host:10001)? (set "
            "BGREMOVE_RAY_CONNECT_TIMEOUT to wait longer)")
    if isinstance(outcome[0], ConnectionError | RuntimeError | ValueError):
        raise ConfigError(f"cannot connect to the Ray cluster at {where}: {outcome[0]}")
    if outcome[0] is not None:
        raise outcome[0]


def _check_reachable(address: str | None) -> None:
    """A wrong host:port fails in seconds here; ray.init would retry for minutes."""
    if not address or ":" not in address:
        return  # None or "auto": Ray's own lookup answers at once
    host, _, port = address.split("://")[-1].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot connect to the Ray cluster at {address}: {exc}") from None


def _run_wave(driver: Driver, the_plan: Plan, wave: list[Task],
              salvage: bool = False) -> list[Task]:
    """Run `wave` and record its results; return the tasks of blocks Ray gave up on."""
    pending = {t.rel: t for t in wave}
    rows = iter(_dataset(the_plan, wave, salvage).iter_rows())
    complete = False
    try:
        for row in rows:
            if row["fatal"]:
                raise ConfigError(row["fatal"])
            result = ImageResult.from_json(row["result"])
            task = pending.pop(result.path, None)
            if task is not None:  # a retried block may report an image twice
                driver.finish(task, result)
            if driver.should_stop():
                return []
        complete = True
    except (BgRemoveError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - Ray's own errors: stop the run with a message
        if not driver.should_stop():  # Ctrl-C reaches Ray's workers too: not an error then
            raise BgRemoveError(f"the Ray job failed: {type(exc).__name__}: {exc}") from exc
        return []
    finally:
        with contextlib.suppress(Exception):
            rows.close()  # type: ignore[attr-defined]  # stops the wave's tasks and actors
        if not complete:
            remove_partial(pending.values(), the_plan.config.in_root)
    return list(pending.values())


def _dataset(the_plan: Plan, wave: list[Task], salvage: bool) -> Any:
    import ray.data

    cfg = the_plan.config
    batch = 1 if salvage else cfg.batch_size or 1
    block = 1 if salvage else 2 * batch if the_plan.gpu else _CPU_BLOCK
    # Small blocks: results come back block by block, and every actor gets work.
    blocks = min(len(wave), max(math.ceil(len(wave) / block), 4 * the_plan.actors))
    block = math.ceil(len(wave) / blocks)
    ds = ray.data.from_items([{"task": task_to_json(t)} for t in wave],
                             override_num_blocks=blocks)
    ctx = ds.context
    ctx.max_errored_blocks = -1  # a poison block fails its images, not the catalog
    ctx.enable_progress_bars = False  # the driver has its own progress
    ctx.print_on_execution_start = False
    # One task in flight per actor: a worker that dies takes only its own block with it.
    compute = ray.data.ActorPoolStrategy(size=the_plan.actors, max_tasks_in_flight_per_actor=1)
    pool = {"compute": compute,
            "fn_constructor_kwargs": {"config": cfg}, "num_cpus": the_plan.num_cpus}
    actor_retries = {"max_restarts": -1, "max_task_retries": _TASK_RETRIES}
    if not the_plan.gpu:
        return _map(ds, CpuActor, actor_retries, batch_size=block, **pool)
    tasks = {"fn_kwargs": {"config": cfg}, "batch_size": 1}
    ds = _map(ds, decode, {"max_retries": _TASK_RETRIES}, **tasks)
    ds = _map(ds, GpuActor, actor_retries, batch_size=batch,
              num_gpus=the_plan.num_gpus, **pool)
    return _map(ds, write, {"max_retries": _TASK_RETRIES}, **tasks)


def _map(ds: Any, fn: Any, retries: dict[str, int], **kwargs: Any) -> Any:
    """map_batches with bounded retries. Ray Data retries actor tasks forever by default, so an
    image that crashes its worker would loop; the retry arguments are deprecated extra keywords
    since Ray 2.60 (removal announced for 2.64): where refused, Ray's defaults apply."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        try:
            return ds.map_batches(fn, **kwargs, **retries)
        except TypeError:
            return ds.map_batches(fn, **kwargs)
