"""train/widen.py: a wider decoder that starts out computing what the narrow one did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from bgremove.model import TINY_ARGS, build_model  # noqa: E402
from bgremove.model.checkpoint import load_checkpoint  # noqa: E402
from tests.tiny_model import make_tiny_checkpoint  # noqa: E402
from train.widen import check_preserved, main, widen  # noqa: E402

WIDER = {"decoder_channels": (40, 24, 20, 8), "cat_channels": 12}


def _tiny(tmp_path: Path):
    model, _ = load_checkpoint(make_tiny_checkpoint(tmp_path / "tiny.pth"))
    return model.eval()


@pytest.mark.parametrize("size", [(64, 64), (70, 90)])
def test_a_wider_decoder_of_the_same_kind_gives_the_same_logits(tmp_path: Path, size) -> None:
    src = _tiny(tmp_path)
    args = {**TINY_ARGS, **WIDER}
    dst = build_model(args).eval()
    assert widen(src, dst) == []
    assert sum(p.numel() for p in dst.parameters()) > sum(p.numel() for p in src.parameters())
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        torch.testing.assert_close(dst(x), src(x), atol=1e-5, rtol=0)


def test_the_new_channels_learn(tmp_path: Path) -> None:
    src = _tiny(tmp_path)
    args = {**TINY_ARGS, **WIDER}
    dst = build_model(args)
    widen(src, dst)
    dst.train()
    dst(torch.randn(2, 3, 64, 64)).sigmoid().mean().backward()
    # The head's weights that read the stride-2 stage are unchanged in shape here, so look at a
    # layer whose input grew: the stride-4 stage's projection of the wider stride-8 map.
    weight = dst.decoder.stages[2].dec_proj[0][0].weight
    old_out, old_in = src.decoder.stages[2].dec_proj[0][0].weight.shape[:2]
    assert torch.all(weight[:old_out, old_in:] == 0)  # old channels read no new ones yet...
    assert weight.grad[:old_out, old_in:].abs().sum() > 0  # ...but gradients will move them


def test_a_slim_stride2_stage_starts_fresh_and_the_coarser_maps_are_kept(tmp_path: Path) -> None:
    src = _tiny(tmp_path)
    args = {**TINY_ARGS, **WIDER, "stride2": "slim"}
    dst = build_model(args)
    fresh = widen(src, dst)
    assert fresh and all(name.startswith("decoder.stages.3.") for name in fresh)
    with torch.no_grad():
        dst.decoder.stages[1].fuse.body[0][0].weight[0, 0] += 1.0
    with pytest.raises(AssertionError, match="changed the stride-"):
        check_preserved(src, dst)


def test_the_command_writes_a_checkpoint_that_rebuilds(tmp_path: Path) -> None:
    src = make_tiny_checkpoint(tmp_path / "tiny.pth")
    out = tmp_path / "wide" / "init.pth"
    main([str(src), str(out), "--model-args", json.dumps({**WIDER, "stride2": "slim"})])
    model, ckpt = load_checkpoint(out)
    assert ckpt["model_args"]["stride2"] == "slim"
    assert tuple(ckpt["model_args"]["decoder_channels"]) == WIDER["decoder_channels"]
    assert ckpt["extra"]["widened_from"] == str(src)
    assert model.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 1, 64, 64)
