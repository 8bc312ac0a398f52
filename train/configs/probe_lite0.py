# Stage 25a, "probe-lite0": one arm of a capacity probe at equal inference cost.
# Stages 20-24 moved the split by under 0.002 each, a wider decoder included (stage 24), and the
# shipped network scores no better on photos it trained on than on its split: it underfits, and
# the remaining capacity lever is the encoder. EfficientNet-Lite2 was set aside as "~2x cost",
# but that is the encoder alone: with the slim stride-2 stage and a narrower decoder (probe_lite2.py)
# the whole network call at 320 px costs what the shipped one does (`python bench/bench_weights.py`:
# 39.6 vs 39.5 ms, 1 thread, one run on 2026-12-03). Whether Lite2 then learns more is measured
# here, not assumed: both arms start from their ImageNet encoders and a fresh decoder, see the same
# samples in the same order (same seed, same pools listed at the same moment) for the same steps,
# and are scored on stage 22's split. A probe, not a candidate: 2,400 steps from ImageNet do not
# reach the shipped weights' 0.8412, which took stages 1-22; the question is which arm leads.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_relabel.py"))
out = "runs/probe-lite0"
init = ""  # ImageNet encoder, fresh decoder: both arms start alike
pretrained_encoder = True
model_args = {"encoder": "lite0", "deep_supervision": True}  # the shipped network
lr = 1e-3  # a fresh decoder (DEFAULTS' value); the encoder moves at 0.3x
warmup_steps = 200  # DEFAULTS' value: Adam's early steps on a fresh decoder are noisy
epochs = 6  # 2,400 steps: what two arms side by side fit in one session (1.5-2.6 s a step)
early_input_size = 256  # the first 75% of the steps at 256 px (2x faster), the rest at 320
early_frac = 0.75
# Outcome (2026-12-03): split by epoch 0.7593, 0.8051, 0.8172, 0.8174, 0.8270, 0.8305 (best, the
# last); the Lite2 arm led at epochs 1-3 and ended at 0.8271; the shipped weights score 0.8412
# there (`python -m train.score --run runs/probe-lite0 weights/bgremove-lite0.pth
# runs/probe-lite0/best.pth runs/probe-lite2/best.pth`). Model card, "Stage 25".
