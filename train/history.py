"""Per-epoch history: a CSV (one row per epoch) and PNG plots of loss and metrics."""

from __future__ import annotations

import csv
from pathlib import Path

PANELS = (  # (title, metric suffix); a val column is "<set>/<metric>", a train one "train_<m>"
    ("loss", "loss"),
    ("IoU", "iou"),
    ("F1 / Dice", "f1"),
    ("boundary F", "boundary_f"),
    ("MAE", "mae"),
    ("Hausdorff (px)", "hausdorff"),
)


def columns(rows: list[dict]) -> list[str]:
    """Union of keys in first-seen order (val sets can appear after the first epoch)."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def write_csv(rows: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns(rows), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(v) for k, v in row.items()})
    tmp.replace(path)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: _parse(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def _fmt(value: object) -> object:
    return f"{value:.6g}" if isinstance(value, float) else value


def _parse(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text


def plot(rows: list[dict], path: Path) -> None:
    """One panel per metric: train (solid black) and each val set over epochs; plus the lr."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(18, 8))
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(rows)]
    for ax, (title, metric) in zip(axes.flat, PANELS, strict=False):
        for key in columns(rows):
            if key == f"train_{metric}" or key.endswith(f"/{metric}"):
                _line(ax, epochs, rows, key, train=key.startswith("train_"))
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    _line(axes.flat[6], epochs, rows, "lr", train=True)
    axes.flat[6].set_title("learning rate (end of epoch)")
    axes.flat[7].axis("off")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(path)


def _line(ax, epochs: list, rows: list[dict], key: str, train: bool) -> None:
    pts = [(e, r[key]) for e, r in zip(epochs, rows, strict=True) if isinstance(r.get(key), float)]
    if pts:
        style = {"color": "black", "linewidth": 2} if train else {"marker": "."}
        if key.startswith("mean/"):
            style = {"color": "grey", "linestyle": "--"}
        ax.plot(*zip(*pts, strict=True), label=key, **style)
