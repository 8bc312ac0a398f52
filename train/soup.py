"""A weight-space average of two checkpoints of one network: the base and a fine-tune of it.

    python -m train.soup runs/stage5/best.pth runs/distil-boundary/best.pth \
        --alpha 0.5 --out runs/soup13/best.pth

Why: every distillation stage since 7 was fine-tuned from the shipped stage 5 and beat it on the
selection split (the training pools) while falling on the photos unlike those pools. Averaging
a fine-tuned network with the one it started from (WiSE-FT: Wortsman et al., 'Robust fine-tuning
of zero-shot models', CVPR 2022) keeps most of the fine-tune's gain where it trained and most of
the base's behaviour elsewhere; both come from one initialisation, so their weights lie in one
basin and their average is itself a working network.

alpha is fixed before anything is scored (0.5, the paper's choice when no out-of-distribution data
may be used to tune it): the selection split cannot measure what the soup is for, and val/ is only
reported. The soup has the fine-tune's model_args, its preprocessing but for the edge sharpening
and the guided filter (measured anew with train.calibrate and train.guide), and any tensors only
it has (deep-supervision heads, which `forward` never runs); integer buffers (BatchNorm's step
counters) are the fine-tune's.
BatchNorm's running statistics are averaged like the weights: the two networks are close enough
that this needed no re-estimation here (the soup scored between its parents on the selection
split, not below both).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from bgremove.model.checkpoint import atomic_torch_save, read_checkpoint


def soup_state(base: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor],
               alpha: float) -> dict[str, torch.Tensor]:
    """(1 - alpha) * base + alpha * tuned for every floating tensor both have; the rest as in
    `tuned`. Raises ValueError when a shared tensor's shape differs (not one network)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1]: {alpha}")
    out = {}
    for key, t in tuned.items():
        b = base.get(key)
        if b is not None and b.shape != t.shape:
            raise ValueError(f"{key}: shape {tuple(b.shape)} against {tuple(t.shape)}: "
                             "not two checkpoints of one network")
        mix = b is not None and t.is_floating_point()
        out[key] = torch.lerp(b.to(t.dtype), t, alpha) if mix else t.clone()
    return out


def make_soup(base_path: Path, tuned_path: Path, alpha: float, out: Path) -> dict[str, Any]:
    """Write the soup checkpoint to `out`; returns it."""
    base, tuned = read_checkpoint(base_path), read_checkpoint(tuned_path)
    for key in set(base["model_args"]) | set(tuned["model_args"]):
        if key != "deep_supervision" and base["model_args"].get(key) != tuned["model_args"].get(key):
            raise ValueError(f"model_args differ in {key!r}: {base['model_args'].get(key)!r} "
                             f"against {tuned['model_args'].get(key)!r}")
    missing = sorted(set(base["state_dict"]) - set(tuned["state_dict"]))
    if missing:
        raise ValueError(f"{tuned_path} lacks tensors of {base_path}: {missing[:3]}")
    soup = dict(tuned)
    soup["state_dict"] = soup_state(base["state_dict"], tuned["state_dict"], alpha)
    # The edge sharpening and the guided filter's radius were measured for the fine-tune, not
    # for the soup: it runs without them until train.calibrate and train.guide measure its own.
    soup["preprocessing"] = {k: v for k, v in tuned["preprocessing"].items()
                             if k not in ("sharpen", "guide")}
    # The fine-tune's own scores do not describe the soup: dropped, its provenance kept.
    extra = {k: v for k, v in tuned.get("extra", {}).items() if k != "metrics"}
    soup["extra"] = {**extra, "soup": {"base": str(base_path), "tuned": str(tuned_path),
                                       "alpha": alpha}}
    atomic_torch_save(soup, out)
    return soup


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", type=Path, help="the checkpoint the fine-tune started from")
    parser.add_argument("tuned", type=Path, help="the fine-tuned checkpoint")
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of the fine-tune")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    make_soup(args.base, args.tuned, args.alpha, args.out)
    print(f"wrote {args.out}: {1 - args.alpha:g} x {args.base} + {args.alpha:g} x {args.tuned}")


if __name__ == "__main__":
    main()
