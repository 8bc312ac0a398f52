"""Exponential moving average of the weights: what is validated, selected and shipped.

A 2-core CPU trains with batches of 8, so consecutive weights are noisy; their running average
is a better model than any single step's (Polyak averaging; timm's ModelEmaV2). BatchNorm running
statistics are copied, not averaged: they are already averages.
"""

from __future__ import annotations

import copy

import torch


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float = 0.998) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        # Early on the average would mostly remember the initial weights: warm the decay up.
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        own = self.model.state_dict()
        for name, value in model.state_dict().items():
            if value.dtype.is_floating_point and not _is_bn_stat(name):
                own[name].mul_(d).add_(value.detach(), alpha=1 - d)
            else:
                own[name].copy_(value)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = state["updates"]


def _is_bn_stat(name: str) -> bool:
    return name.endswith(("running_mean", "running_var"))
