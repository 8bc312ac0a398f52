"""End-to-end throughput and peak memory of `bgremove run` (and of `rembg p` on the same folder).

    python bench/bench_run.py --n 100         # bgremove vs rembg u2net: images/s, peak RSS
    python bench/bench_run.py --rss-scaling   # peak RSS for 1000 images / for 100 (bar: 1.10)
    python bench/bench_run.py --n 48 --repeat 3 --alternate --rembg-threads default  # a busy machine
    python bench/bench_run.py --n 100 --repeat 3 --alternate --rembg-threads default --mirror

--alternate runs the tools in turn, repeat by repeat (bgremove, rembg, bgremove, ...), so a
change in the machine's load hits every tool alike; --rembg-threads picks rembg's setting(s):
onnxruntime's default threads, one thread, or both (the ratio is against the faster); --mirror
also times `bgremove run --mirror`, with its own ratio.

The input folder holds real photos from ../shared/data/val (CCP street photos, DAVIS frames)
brought to catalog sizes: most 1600x1200, every tenth 4000x3000, scaled to cover and
centre-cropped, saved as JPEG q90. It is built once under cache/bench/ and reused.

Peak RSS is that of the whole process tree (the CLI and its worker processes), sampled from
/proc every 0.2 s: getrusage(RUSAGE_CHILDREN) would only give the largest single process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "val"
CACHE = ROOT / "cache" / "bench"
SOURCES = ("ccp", "davis")
PAGE = os.sysconf("SC_PAGE_SIZE")

_LIB_RUNNER = (
    "import sys; from bgremove.batch.driver import run; from bgremove.batch.options import RunOptions; "
    "s = run(RunOptions(sys.argv[1], sys.argv[2], progress='quiet', "
    "workers=int(sys.argv[3]) if sys.argv[3] != '0' else None)); sys.exit(s.exit_code)"
)


def _sources() -> list[Path]:
    files = sorted(p for s in SOURCES for p in (DATA / s / "images").glob("*.jpg"))
    if not files:
        sys.exit(f"no photos found under {DATA}: ../shared/data not found")
    return files


def _catalog_photo(src: Path, dst: Path, size: tuple[int, int]) -> None:
    import cv2

    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    w, h = size
    scale = max(w / img.shape[1], h / img.shape[0])  # cover, then centre-crop
    big = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                     interpolation=cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    tmp = dst.with_suffix(".tmp.jpg")
    cv2.imwrite(str(tmp), big[y0 : y0 + h, x0 : x0 + w], [cv2.IMWRITE_JPEG_QUALITY, 90])
    os.replace(tmp, dst)


def build_folder(n: int) -> Path:
    """cache/bench/n<N>/ with N photos, hard-linked from a shared pool built on demand."""
    pool, folder = CACHE / "pool", CACHE / f"n{n}"
    pool.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    sources = _sources()
    for i in range(n):
        name = f"photo{i:05d}.jpg"
        if not (pool / name).exists():
            size = (4000, 3000) if i % 10 == 9 else (1600, 1200)
            _catalog_photo(sources[i % len(sources)], pool / name, size)
        if not (folder / name).exists():
            os.link(pool / name, folder / name)
    return folder


def _process_table() -> dict[int, list[int]]:
    """ppid -> child pids, from one pass over /proc."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree_rss(root: int) -> int:
    """Sum of the resident set sizes of `root` and all its descendants."""
    kids, total, todo = _process_table(), 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        todo.extend(kids.get(pid, []))
    return total


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, int, int, float]:
    """(seconds, peak tree RSS in bytes, exit code, CPU seconds) of one command. The end is
    taken by a thread blocked in wait(), the moment the command exits: polling every 0.2 s
    between RSS samples added 0.1 s on average, 3% of a 48-photo bgremove run and nothing to
    rembg's. CPU seconds are user + system of the whole tree (each worker is reaped by its
    parent, so its time reaches ours): what a run costs whatever else shares the host, where
    wall time also holds the waits for a busy neighbour."""
    errfile = tempfile.TemporaryFile()  # a file, not a pipe: a chatty tool never blocks on it
    before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errfile)
    ended: list[float] = []
    done = threading.Event()

    def wait() -> None:
        proc.wait()
        ended.append(time.perf_counter())
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    peak = 0
    while not done.is_set():
        peak = max(peak, _tree_rss(proc.pid))
        done.wait(0.2)
    elapsed = ended[0] - start
    cpu = _children_cpu() - before
    errfile.seek(0)
    err = errfile.read().decode(errors="replace")
    errfile.close()
    if proc.returncode != 0:
        print(f"  exit {proc.returncode}: {err.strip()[-500:]}", file=sys.stderr)
    return elapsed, peak, proc.returncode, cpu


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _bgremove_cmd(folder: Path, out: Path, workers: int) -> list[str]:
    exe = Path(sys.executable).with_name("bgremove")
    probe = subprocess.run([str(exe), "run", "--help"], capture_output=True) if exe.exists() \
        else None
    if probe is not None and probe.returncode == 0:
        cmd = [str(exe), "run", str(folder), str(out)]
        return cmd + (["--workers", str(workers)] if workers else [])
    # The CLI is not there (yet): the same library call it makes.
    return [sys.executable, "-c", _LIB_RUNNER, str(folder), str(out), str(workers)]


def run_once(name: str, cmd_for, folder: Path, n: int, env=None
             ) -> tuple[float, int, float] | None:
    """(seconds, peak RSS, CPU seconds) of one run, None when it failed or wrote too little."""
    slug = "".join(c if c.isalnum() else "-" for c in name)
    out = Path(tempfile.mkdtemp(prefix=f"out-{slug}-", dir=CACHE))
    try:
        t, peak, rc, cpu = measure(cmd_for(folder, out), env)
        written = sum(1 for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if rc != 0 or written < n:
        print(f"  {name}: failed (exit {rc}, {written}/{n} outputs)")
        return None
    return t, peak, cpu


def summarise(name: str, runs: list[tuple[float, int, float]], n: int) -> dict:
    times = [t for t, _, _ in runs]
    res = {"s": statistics.median(times), "ips": n / statistics.median(times),
           "rss": statistics.median(p for _, p, _ in runs),
           "cpu": statistics.median(c for _, _, c in runs)}
    each = " ".join(f"{t:.1f}" for t in times)
    print(f"  {name:<22} {res['ips']:6.2f} images/s  {res['s']:7.1f} s  "
          f"peak RSS {res['rss'] / 2**20:7.0f} MiB  CPU {res['cpu']:6.1f} s  "
          f"(median of {len(runs)}: {each} s)",
          flush=True)
    return res


def run_tools(tools: list[tuple[str, object, dict | None]], folder: Path, n: int, repeat: int,
              alternate: bool) -> list[dict | None]:
    """Each tool `repeat` times, one tool after the other or (alternate) in turn; a tool's
    medians are printed after its last run, None for a tool that failed."""
    runs: list[list[tuple[float, int, float]]] = [[] for _ in tools]
    results: list[dict | None] = [None] * len(tools)
    failed: set[int] = set()
    order = [(r, i) for r in range(repeat) for i in range(len(tools))] if alternate \
        else [(r, i) for i in range(len(tools)) for r in range(repeat)]
    for _, i in order:
        name, cmd_for, env = tools[i]
        if i in failed:
            continue
        one = run_once(name, cmd_for, folder, n, env)
        if one is None:
            failed.add(i)
            continue
        runs[i].append(one)
        if alternate:  # partial figures survive an interrupted session
            print(f"    {name} run {len(runs[i])}: {one[0]:.1f} s, CPU {one[2]:.1f} s", flush=True)
        if len(runs[i]) == repeat:
            results[i] = summarise(name, runs[i], n)
    return results


def run_tool(name: str, cmd_for, folder: Path, n: int, repeat: int, env=None) -> dict | None:
    return run_tools([(name, cmd_for, env)], folder, n, repeat, alternate=False)[0]


def _rembg(args) -> list[tuple[str, object, dict]]:
    exe = Path(args.rembg)
    if not exe.exists():
        print(f"  rembg not available ({exe} not found): reporting bgremove alone")
        return []
    env = dict(os.environ, U2NET_HOME=str(Path(args.u2net_home).resolve()))
    one = dict(env, OMP_NUM_THREADS="1")
    cmd = lambda f, o: [str(exe), "p", "-m", "u2net", str(f), str(o)]  # noqa: E731
    settings = {"default": [("rembg u2net", cmd, env)],
                "1": [("rembg u2net (1 thread)", cmd, one)]}
    settings["both"] = settings["default"] + settings["1"]
    return settings[args.rembg_threads]


def compare(args) -> None:
    folder = build_folder(args.n)
    print(f"{args.n} photos in {folder} (most 1600x1200, every 10th 4000x3000), "
          f"{os.cpu_count()} CPUs")
    plain = lambda f, o: _bgremove_cmd(f, o, args.workers)  # noqa: E731
    ours = [("bgremove run", plain, None)]
    if args.mirror:
        ours.append(("bgremove run --mirror", lambda f, o: [*plain(f, o), "--mirror"], None))
    results = run_tools([*ours, *_rembg(args)], folder, args.n, args.repeat, args.alternate)
    peers = [r for r in results[len(ours):] if r is not None]
    if not peers:
        return
    best = max(peers, key=lambda r: r["ips"])  # the README asks for the better rembg setting
    for (name, _, _), r in zip(ours, results, strict=False):
        if r is not None:
            print(f"  {name} / rembg (best setting): {r['ips'] / best['ips']:.2f}x images/s, "
                  f"{r['rss'] / best['rss']:.2f}x peak RSS")


def rss_scaling(args) -> None:
    results = {}
    for n in (100, 1000):
        folder = build_folder(n)
        print(f"{n} photos:", flush=True)
        results[n] = run_tool(f"bgremove run (n={n})",
                              lambda f, o: _bgremove_cmd(f, o, args.workers), folder, n,
                              args.repeat)
    if results[100] and results[1000]:
        ratio = results[1000]["rss"] / results[100]["rss"]
        verdict = "within" if ratio <= 1.10 else "OVER"
        print(f"  peak RSS 1000 / 100 images: {ratio:.3f} ({verdict} the 10% bar)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="number of photos (default 100)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool; medians are quoted")
    ap.add_argument("--workers", type=int, default=0, help="bgremove workers (0: its default)")
    ap.add_argument("--rembg", default=str(ROOT / ".peers/venv/bin/rembg"))
    ap.add_argument("--u2net-home", default=str(ROOT / ".peers/u2net"))
    ap.add_argument("--rss-scaling", action="store_true", help="peak RSS for 1000 vs 100 images")
    ap.add_argument("--alternate", action="store_true", help="run the tools in turn, per repeat")
    ap.add_argument("--rembg-threads", choices=("default", "1", "both"), default="both",
                    help="rembg's thread setting(s); the ratio is against the faster")
    ap.add_argument("--mirror", action="store_true",
                    help="also time `bgremove run --mirror` (the mirror for busy scenes)")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    rss_scaling(args) if args.rss_scaling else compare(args)


if __name__ == "__main__":
    main()
