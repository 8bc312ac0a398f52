# Stage 30a, "distil-ccp": stage 29's recipe again from its best, with train/ccp (human masks of
# street photos, val/ccp's own kind) drawn twice as often. Stage 29 left val/ccp 0.0009 under
# the 0.959 (its errors: edges, and street furniture kept beside the person) at 19% of
# the samples; here 32% (weight 1.5 -> 3.0), every other source as it was.
#   python -m train.train --config train/configs/distil_ccp.py --threads 1 --workers 1
# Run side by side with stage 30b (distil_spread.py): same init, seed, pools and split.
# Candidates, fixed before it runs: its best checkpoint, through `python -m train.gate --run
# runs/probe-lite0 ...` (stage 22's split; the shipped weights' 0.8449 to beat).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_quiet.py"))
out = "runs/distil-ccp"
init = "runs/distil-quiet/best.pth"  # stage 29's epoch 3, the shipped weights at threshold 0.5
train_sets = ["train/viton-cloth:1.0", "train/ccp:3.0", "train/viton-person:0.2"]
