# Stage 11, "distil-320": stage 10 without the frozen encoder and the 256 px phase.
# Stages 8, 8b and 10 all lost davis in their last epoch, the one where the encoder's early
# blocks unfreeze (their BatchNorm back in train mode) and crops grow from 256 to 320 px
# (stage 10's in-training davis frames: 0.655 after epoch 3, 0.627 after epoch 4; stage 5 0.690).
# A 400-step diagnostic with neither (diag-pfull, weights/MODEL_CARD.md) kept davis at 0.686;
# stage 5 itself trained unfrozen at 320 throughout. ~1.9x the time per step of stage 10.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_paste.py"))
out = "runs/distil-320"
freeze_stride8_frac = 0.0
early_frac = 0.0
# distil-full2's selection.json went with the machine it was drawn on: a new split is drawn
# (seeded: a pool that holds the same photos as then, ccp, viton-cloth or imagenet-1k, gives the
# same held-out ones, where stage 5 scores as it did for 8b and 10).
selection_from = ""
