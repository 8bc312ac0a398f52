"""Boundary weight map and the BCE + Dice loss."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from train.loss import (  # noqa: E402
    SegLoss,
    boundary_distance,
    boundary_weights,
    soft_dice,
    weighted_bce,
)


def square(size: int = 64, lo: int = 16, hi: int = 48) -> np.ndarray:
    m = np.zeros((size, size), np.float32)
    m[lo:hi, lo:hi] = 1.0
    return m


def test_weights_peak_on_the_border_and_decay_symmetrically() -> None:
    w = boundary_weights(square(), amplitude=4.0, sigma=3.0)
    row = w[32]  # a horizontal line through the square: outside 0..15, inside 16..47
    assert row[15] == pytest.approx(5.0) and row[16] == pytest.approx(5.0)
    assert w.max() == pytest.approx(5.0)
    for k in range(1, 12):  # inside and outside, k px from the border pixels: same weight
        assert row[16 + k] == pytest.approx(row[15 - k], rel=1e-5)
        assert row[16 + k] < row[16 + k - 1]  # decays with distance
    assert row[32] == pytest.approx(1 + 4 * np.exp(-15 / 3), rel=1e-4)
    far = boundary_weights(square(128, 16, 48), amplitude=4.0, sigma=3.0)[120, 120]
    assert far == pytest.approx(1.0, abs=1e-6)  # 100 px away: weight 1


def test_distance_is_one_on_both_sides_of_the_edge() -> None:
    d = boundary_distance(square())
    assert d[32, 15] == 1.0 and d[32, 16] == 1.0 and d[32, 14] == 2.0 and d[32, 17] == 2.0


def test_weights_without_a_boundary_are_one() -> None:
    assert np.allclose(boundary_weights(np.zeros((20, 20), np.float32)), 1.0)
    assert np.allclose(boundary_weights(np.ones((20, 20), np.float32)), 1.0)
    assert np.allclose(boundary_weights(square(), amplitude=0.0), 1.0)


def test_bce_and_dice_values() -> None:
    target = torch.from_numpy(square(8, 2, 6))[None, None]
    perfect = (target * 2 - 1) * 20
    assert float(soft_dice(perfect, target)) < 1e-6
    assert float(soft_dice(-perfect, target)) > 0.9
    zeros = torch.zeros_like(target)
    ones = torch.ones_like(target)
    assert float(weighted_bce(zeros, target, ones)) == pytest.approx(np.log(2), rel=1e-5)
    # Weighting only the foreground pixels: the loss of a wrong foreground alone.
    wrong_fg = -perfect
    w = target.clone()
    expected = float(torch.nn.functional.softplus(torch.tensor(20.0)))
    assert float(weighted_bce(wrong_fg, target, w)) == pytest.approx(expected, rel=1e-5)


def test_segloss_is_lower_for_better_logits_and_has_gradients() -> None:
    target = torch.from_numpy(square(16, 4, 12))[None, None]
    weight = torch.from_numpy(boundary_weights(target[0, 0].numpy()))[None, None]
    loss_fn = SegLoss(1.0, 1.0)
    good, _ = loss_fn((target * 2 - 1) * 3, target, weight)
    logits = torch.zeros_like(target, requires_grad=True)
    bad, parts = loss_fn(logits, target, weight)
    assert float(good) < float(bad.detach())
    assert set(parts) == {"bce", "dice"}
    bad.backward()
    assert logits.grad is not None and float(logits.grad[0, 0, 8, 8]) < 0  # push fg logit up


def test_confidence_weights_are_zero_at_one_half_and_one_at_the_ends() -> None:
    from train.loss import confidence_weights

    w = confidence_weights(np.array([0.0, 0.25, 0.5, 0.9, 1.0], np.float32))
    assert np.allclose(w, [1.0, 0.5, 0.0, 0.8, 1.0])


def test_padding_and_aux_logits_enter_the_loss_as_asked() -> None:
    from train.loss import soft_iou

    target = torch.from_numpy(square(16, 4, 12))[None, None]
    good = (target * 2 - 1) * 10
    assert float(soft_iou(good, target)) < 0.01 and float(soft_iou(-good, target)) > 0.95
    # Wrong everywhere in the left half: with that half marked as padding the loss is ~0.
    half = good.clone()
    half[..., :8] = -half[..., :8]
    valid = torch.ones_like(target)
    valid[..., :8] = 0
    loss_fn = SegLoss(1.0, 0.0, iou_weight=1.0)
    masked, parts = loss_fn(half, target, valid, valid=valid)
    unmasked, _ = loss_fn(half, target)
    assert float(masked) < 0.01 < float(unmasked) and "iou_loss" in parts
    with_aux, parts = loss_fn(good, target, aux=[-good])
    assert "aux" in parts and float(with_aux) > float(loss_fn(good, target)[0]) + 0.1


def test_the_mirror_term_pulls_each_pixel_to_the_two_views_mean_and_skips_padding() -> None:
    from train.loss import mirror_consistency

    logits = torch.tensor([[[[2.0, -1.0, 0.5]]]], requires_grad=True)
    mirror_consistency(logits, logits.detach().clone()).backward()
    assert logits.grad.abs().max() == 0  # the views agree: nothing to learn
    logits.grad = None
    mirrored = torch.tensor([[[[-2.0, 1.0, 0.5]]]])
    mirror_consistency(logits, mirrored).backward()
    # gradient descent moves each logit toward the other view's; agreeing pixels stay
    assert logits.grad[0, 0, 0, 0] > 0 and logits.grad[0, 0, 0, 1] < 0
    assert logits.grad[0, 0, 0, 2] == 0
    logits.grad = None
    valid = torch.tensor([[[[1.0, 0.0, 1.0]]]])
    mirror_consistency(logits, mirrored, valid).backward()
    assert logits.grad[0, 0, 0, 1] == 0  # padding is not the image's
