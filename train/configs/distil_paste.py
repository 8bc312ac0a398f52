# Stage 10, "distil-paste": stage 8b's recipe with stage 5's paste and zoom ranges.
# Three 400-step diagnostics from stage 5 (weights/MODEL_CARD.md) changed one thing each in 8b's
# recipe: going back to stage 5's pastes (0.35-0.95 of the canvas) and zoom (0.75-1.25) was the
# only change that kept the in-training davis subset near stage 5 (0.685 vs 8b's 0.663) and it
# also scored best on the selection split; stage 5's loss did neither. This is that run, full
# length, on 8b's 360 selection photos so it is compared with 8b and stage 5 on the same ones.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_full2.py"))
out = "runs/distil-paste"
selection_from = "runs/distil-full2/selection.json"
paste_scale = [0.35, 0.95]
zoom = [0.75, 1.25]
