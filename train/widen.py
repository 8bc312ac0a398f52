"""Widen a checkpoint's decoder without changing what it computes (Net2Net-style, Chen et al. 2016).

    python -m train.widen runs/soup22/best.pth runs/wide24/init.pth \\
        --model-args '{"stride2": "slim", "decoder_channels": [128, 96, 64, 32], "cat_channels": 24}'

A wider network started from fresh weights would have to relearn what 22 stages taught the
narrow one. Instead every old weight goes into the leading slice of its wider tensor, and the
weights that would read a new channel into an old one are zero: the old channels compute what
they did, the new ones start from their fresh initialisation and are free to learn, because the
zeros reading them get gradients. The decoder's concatenated branches are remapped (branch b's
old channels move to b x the new branch width). A stride-2 stage whose kind changes (full ->
slim) has no old weights to take and starts fresh; the decoder maps at strides 4-16, and with
them the deep-supervision heads' masks, are unchanged, which `widen` checks before returning.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from bgremove.model import BgNet, build_model
from bgremove.model.checkpoint import load_checkpoint, save_checkpoint
from bgremove.model.decoder import FullScaleStage

_FUSE_INPUT = re.compile(r"decoder\.stages\.(\d+)\.fuse\.(body\.0|shortcut)\.0\.weight")


def _input_index(name: str, old_in: int, dst: BgNet, old_cat: int, new_cat: int) -> torch.Tensor:
    """Where the old input channels of tensor `name` sit among the new ones."""
    match = _FUSE_INPUT.fullmatch(name)
    if match and isinstance(dst.decoder.stages[int(match.group(1))], FullScaleStage):
        return torch.tensor([b * new_cat + j for b in range(old_in // old_cat)
                             for j in range(old_cat)])
    return torch.arange(old_in)


def _widened(name: str, old: torch.Tensor, new: torch.Tensor, dst: BgNet,
             cats: tuple[int, int]) -> torch.Tensor | None:
    """`new` with `old` in its leading slice, or None where `old` does not fit."""
    if old.dim() != new.dim() or any(o > n for o, n in zip(old.shape, new.shape, strict=True)):
        return None
    if old.dim() == 0 or old.shape == new.shape:
        return old.clone()
    out = new.clone()
    rows = old.shape[0]
    if old.dim() == 1:
        out[:rows] = old
        return out
    index = _input_index(name, old.shape[1], dst, *cats)
    out[:rows] = 0  # an old output channel reads none of the new input channels
    out[:rows, index] = old
    return out


def _branch_width(model: BgNet) -> int:
    """cat_channels, read off the network: every stride-16 branch projects to it."""
    return model.decoder.stages[0].enc_proj[0][0].out_channels


def widen(src: BgNet, dst: BgNet) -> list[str]:
    """Load src's weights into the wider dst; returns the modules left at their initialisation."""
    cats = (_branch_width(src), _branch_width(dst))
    theirs, own = src.state_dict(), dst.state_dict()
    state, fresh = {}, set()
    for name, new in own.items():
        value = _widened(name, theirs[name], new, dst, cats) if name in theirs else None
        if value is None:
            fresh.add(name.rsplit(".", 2)[0])
            value = new
        state[name] = value
    dst.load_state_dict(state)
    check_preserved(src, dst)
    return sorted(fresh)


@torch.no_grad()
def check_preserved(src: BgNet, dst: BgNet, size: int = 96, tol: float = 1e-4) -> None:
    """Raise unless dst's decoder maps at strides 4-16 start with src's, channel for channel."""
    modes = (src.training, dst.training)
    src.eval()
    dst.eval()
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    old, new = src.decoder(src.encoder(x)), dst.decoder(dst.encoder(x))
    src.train(modes[0])
    dst.train(modes[1])
    for stride, a, b in zip((4, 8, 16), old[1:], new[1:], strict=True):
        diff = (a - b[:, : a.shape[1]]).abs().max().item()
        if diff > tol:
            raise AssertionError(f"widening changed the stride-{stride} decoder map (by {diff:.2e})")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path, help="checkpoint to widen")
    ap.add_argument("out", type=Path, help="checkpoint to write")
    ap.add_argument("--model-args", required=True,
                    help="JSON: the model arguments that change (the rest are the source's)")
    args = ap.parse_args(argv)
    src, ckpt = load_checkpoint(args.src)
    dst_args = {**ckpt["model_args"], **json.loads(args.model_args)}
    dst = build_model(dst_args)  # BgNet takes channel lists as they are stored in checkpoints
    fresh = widen(src, dst)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    extra = {**(ckpt.get("extra") or {}), "widened_from": str(args.src)}
    save_checkpoint(args.out, dst, dst_args, ckpt["preprocessing"], extra)
    print(f"{args.out}: {dst_args}; fresh: {', '.join(fresh) or 'none'}")


if __name__ == "__main__":
    main()
