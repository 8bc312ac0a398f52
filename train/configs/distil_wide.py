# Stage 24, "distil-wide": stage 22's recipe on a wider decoder, paid for by a slim stride-2 stage.
# Stages 20-23 each moved the split by under 0.002 (weights/MODEL_CARD.md, "Where it stands"), and
# on training photos it saw about as rarely as its split (caltech101, grocery, ccp) the shipped
# network scores no better than on the split (a one-off score of 60 training photos per pool):
# it underfits, so the next lever is capacity. The slim stride-2 stage saves ~17% of a network call
# at 320 px (53.5 -> 43.8 ms, onnxruntime fp32, 1 thread, one run), which buys decoder stages of
# (128, 96, 64) channels and 24-channel branches (53.1 ms against the shipped 58.0 in one run).
# The init keeps stage 22's soup's function (`python -m train.widen runs/soup22/best.pth
# runs/wide24/init.pth --model-args '{"stride2": "slim", "decoder_channels": [128, 96, 64, 32],
# "cat_channels": 24}'`): its decoder maps at strides 4-16 are unchanged, so only the slim
# stride-2 stage starts fresh and the deep-supervision heads start where stage 22 ended.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_relabel.py"))
out = "runs/distil-wide"
init = "runs/wide24/init.pth"
model_args = {"encoder": "lite0", "stride2": "slim", "decoder_channels": (128, 96, 64, 32),
              "cat_channels": 24, "deep_supervision": True}
lr = 2e-4  # the new channels and the fresh stride-2 stage must learn, not just settle (2.6x 22's)
warmup_steps = 100  # Adam's moments start from zero, and the fresh stage's gradients are large
freeze_stride8_frac = 0.5  # the encoder is stage 22's; the first half trains the decoder (1.6x)
epochs = 8  # 3,200 steps, resumed across sessions (`--resume`); the split decides the epoch
