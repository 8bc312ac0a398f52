"""Load test of `bgremove serve` on loopback: images/s and latency percentiles per number of
concurrent clients, and the server's memory over many requests.

    python bench/bench_serve.py                      # 4/16/64 clients, 200 catalog photos each
    python bench/bench_serve.py --config nobatch="--max-batch 1" --config batch4="--max-batch 4"
    python bench/bench_serve.py --rss --requests 10000  # peak RSS after 10,000 vs after 100
    python bench/bench_serve.py --rss --tiny            # the same with tests' tiny model: faster

Time it with the machine's background jobs paused (README), e.g.
    bash -c 'trap /work/bgjobs/resume.sh EXIT; /work/bgjobs/pause.sh; python bench/bench_serve.py'

Throughput: the server (bundled weights, its default options unless --config says otherwise)
answers POST /remove with PNG cutouts of 1600x1200 catalog photos (real photos from
../shared/data/val brought to catalog size, bench_run.py's folder; generated images where that is
absent). Each client is a thread with one keep-alive connection that sends its next request as
soon as the last one is answered; a 503 (queue full) is retried after 50-100 ms and counted, and
a request's latency runs from its first try to its answer. Clients and server share this
machine's CPUs, as they would on a one-box deployment.

Memory (--rss): small generated images (160x120 to 640x480, JPEG and PNG) with every output
option in turn and an undecodable upload every 50th, from 16 clients; peak RSS (VmHWM) and
current RSS of the server process after 100 requests and at checkpoints up to --requests.
Small images keep 10,000 requests within minutes; each still costs a full model pass. --tiny
serves tests/tiny_model.py's network (64 px input, exported to ONNX under cache/bench/; needs the
dev install's torch) instead of the bundled weights: the same server, batcher, decoding, rendering
and encoding per request at a fraction of the model's time.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import os
import random
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

Body = tuple[bytes, str, str]  # data, Content-Type, query


class Server:
    """`python -m bgremove serve` on a free loopback port, ready once /ready says 200."""

    def __init__(self, args: list[str]) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "bgremove", "serve", "--port", str(self.port),
               "--no-access-log", "--log-level", "warning", *args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"server exited {self.proc.returncode}")
            try:
                if _get(self.port, "/ready") == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit("server not ready in 120 s")

    def memory(self) -> tuple[int, int]:
        """(peak RSS, current RSS) in bytes, from /proc (VmHWM, VmRSS)."""
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    fields[key] = int(value.split()[0]) * 1024
        return fields["VmHWM"], fields["VmRSS"]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    rejected: int = 0  # 503 queue full, retried
    failed: dict[int, int] = field(default_factory=dict)  # other statuses (expected 400s too)
    seconds: float = 0.0

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def load(port: int, bodies: list[Body], clients: int, total: int, start: int = 0) -> Load:
    """`total` requests from `clients` threads; bodies taken in turn from index `start`."""
    out, lock, counter = Load(), threading.Lock(), itertools.count(start)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while (i := next(counter)) < start + total:
            data, ctype, query = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            while True:
                try:
                    conn.request("POST", f"/remove?{query}", body=data,
                                 headers={"Content-Type": ctype})
                    r = conn.getresponse()
                    r.read()
                except (http.client.HTTPException, OSError):
                    conn.close()  # the server closed an idle keep-alive: reconnect, resend
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                    continue
                if r.status != 503:
                    break
                with lock:
                    out.rejected += 1
                time.sleep(0.05 + random.random() * 0.05)
            took = time.perf_counter() - t0
            with lock:
                if r.status == 200:
                    out.latencies.append(took)
                    out.batches.append(int(r.getheader("x-bgremove-batch-size", "1")))
                else:
                    out.failed[r.status] = out.failed.get(r.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.seconds = time.perf_counter() - t0
    return out


def _encode(arr: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def catalog_bodies(n: int) -> list[Body]:
    """1600x1200 JPEG catalog photos (bench_run.py's folder); generated ones without the data."""
    try:
        from bench_run import build_folder

        folder = build_folder(max(10, n + n // 9 + 1))
        files = [p for p in sorted(folder.glob("*.jpg")) if int(p.stem[-5:]) % 10 != 9][:n]
        return [(p.read_bytes(), "image/jpeg", "") for p in files]
    except SystemExit as exc:  # bench_run exits when ../shared/data is absent
        print(f"({exc}; generated 1600x1200 images instead)")
        return [(_encode(_product(1200, 1600, i), "JPEG"), "image/jpeg", "") for i in range(n)]


def _product(h: int, w: int, seed: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 235, np.uint8) + rng.integers(0, 15, (h, w, 1), dtype=np.uint8)
    colour = tuple(int(c) for c in rng.integers(20, 200, 3))
    cv2.ellipse(img, (w // 2, h // 2), (w // 4, h // 3), int(rng.integers(0, 90)), 0, 360,
                colour, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.2)


RSS_QUERIES = ["", "output=mask", "bg_color=white", "format=webp", "crop=true&margin=5%25",
               "bg_color=%23eeeeee&format=png&crop=true", "threshold=0.5", "decontaminate=false"]


def small_bodies() -> list[Body]:
    sizes = [(120, 160), (240, 320), (300, 400), (360, 480), (480, 640)]
    bodies: list[Body] = []
    for i in range(49):
        h, w = sizes[i % len(sizes)]
        fmt = "PNG" if i % 3 == 0 else "JPEG"
        data = _encode(_product(h, w, i), fmt)
        bodies.append((data, f"image/{fmt.lower()}", RSS_QUERIES[i % len(RSS_QUERIES)]))
    bodies.append((b"not an image at all", "application/octet-stream", ""))  # every 50th: 400
    return bodies


def throughput(args) -> None:
    bodies = catalog_bodies(args.photos)
    configs = args.config or [f"default={''}"]
    print(f"{len(bodies)} photos, {os.cpu_count()} CPUs, {args.requests} requests per level, "
          f"clients {args.clients}, {args.repeat} repeat(s)")
    results: dict[tuple[str, int], list[Load]] = {}
    for r in range(args.repeat):
        for cfg in configs:  # alternated, so a change in the machine's load hits all alike
            name, _, extra = cfg.partition("=")
            server = Server(shlex.split(extra))
            load(server.port, bodies, 4, 8)  # warm-up: first batches, lazy imports
            for clients in args.clients:
                res = load(server.port, bodies, clients, args.requests, start=8)
                results.setdefault((name, clients), []).append(res)
                _print(f"run {r + 1} {name}", clients, res)
            server.stop()
    if args.repeat > 1:
        print("medians over runs (the run with the median images/s for the percentiles; of an "
              "even number of runs, the faster of the middle two):")
        for (name, clients), runs in results.items():
            runs = sorted(runs, key=lambda x: x.rate)
            _print(name, clients, runs[len(runs) // 2])


def _print(name: str, clients: int, res: Load) -> None:
    ms = {q: res.percentile(q) * 1000 for q in (50, 95, 99)}
    print(f"  {name:<16} {clients:3d} clients: {res.rate:6.2f} images/s  p50 {ms[50]:7.0f} ms  "
          f"p95 {ms[95]:7.0f} ms  p99 {ms[99]:7.0f} ms  mean batch "
          f"{statistics.fmean(res.batches):4.2f}  503s retried {res.rejected}"
          + (f"  other statuses {res.failed}" if res.failed else ""), flush=True)


def tiny_weights() -> Path:
    """tests/tiny_model.py's network as ONNX, built once under cache/bench/."""
    path = ROOT / "cache" / "bench" / "tiny.onnx"
    if not path.exists():
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_model import make_tiny_onnx

        path.parent.mkdir(parents=True, exist_ok=True)
        make_tiny_onnx(path.parent)
    return path


def rss(args) -> None:
    bodies = small_bodies()
    server_args = shlex.split(args.server_args)
    weights = "bundled weights"
    if args.tiny:
        weights = f"tiny model {tiny_weights().relative_to(ROOT)}"
        server_args = ["--weights", str(tiny_weights()), *server_args]
    server = Server(server_args)
    checkpoints = sorted({100, *[c for c in (1000, 2500, 5000, 7500) if c < args.requests],
                          args.requests})
    done, rows = 0, []
    print(f"{args.requests} requests of small generated images from {args.rss_clients} clients; "
          f"server: {weights}, " + (args.server_args or "default options"))
    t0 = time.perf_counter()
    for mark in checkpoints:
        res = load(server.port, bodies, args.rss_clients, mark - done, start=done)
        done = mark
        peak, now = server.memory()
        rows.append((mark, peak, now))
        print(f"  after {mark:6d} requests: peak RSS {peak / 2**20:7.1f} MiB, RSS now "
              f"{now / 2**20:7.1f} MiB  ({res.rate:5.1f} images/s in this stretch, "
              f"statuses other than 200: {res.failed}, 503s {res.rejected}, "
              f"{time.perf_counter() - t0:5.0f} s so far)", flush=True)
    server.stop()
    first, last = rows[0], rows[-1]
    ratio = last[1] / first[1]
    print(f"  peak RSS after {last[0]} / after {first[0]} requests: {ratio:.3f} "
          f"({'within' if ratio <= 1.10 else 'OVER'} the 10% bar); RSS now: "
          f"{last[2] / first[2]:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--requests", type=int, default=None,
                    help="requests per client level (default 200), or in all with --rss (10000)")
    ap.add_argument("--photos", type=int, default=90, help="distinct catalog photos sent in turn")
    ap.add_argument("--repeat", type=int, default=1, help="runs per config; medians are quoted")
    ap.add_argument("--config", action="append",
                    help="NAME=SERVER_ARGS, e.g. batch4='--max-batch 4'; several are alternated")
    ap.add_argument("--rss", action="store_true", help="memory over --requests requests")
    ap.add_argument("--rss-clients", type=int, default=16)
    ap.add_argument("--server-args", default="", help="bgremove serve options for --rss")
    ap.add_argument("--tiny", action="store_true", help="--rss with tests' tiny model (needs torch)")
    args = ap.parse_args()
    if args.rss:
        args.requests = args.requests or 10_000
        rss(args)
    else:
        args.requests = args.requests or 200
        throughput(args)


if __name__ == "__main__":
    main()
