# Stage 8c, "distil-full3": stage 8b continued. Its selection score rose at every epoch (0.7993,
# 0.8031, 0.8045, ...) when its cosine schedule ended, and its teacher-labelled pools have grown
# since it started: the same recipe again from its best.pth, on the same 360 selection photos,
# at half the peak learning rate (the network is trained; this is more of the same data).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_full2.py"))
out = "runs/distil-full3"
init = "runs/distil-full2/best.pth"
selection_from = "runs/distil-full2/selection.json"
lr = 1e-4
warmup_steps = 20
