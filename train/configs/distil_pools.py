# Stage 31a, "distil-pools": stage 30a's recipe again from its best, on the pools as the int8
# teacher left them complete (2026-12-03 21:20: 21,135 photos). Stages 29 and 30 listed their pools
# while the labeller was still running and drew on ~5,800 of them (caltech101 2,135 of ~8,600,
# grocery 1,356 of ~5,500, clothing 1,405 of ~5,700); the first cause is too few general
# images, each seen too often. Same weights per source, so the mix is unchanged: only the number
# of distinct photos behind it grows (~3.3x for those three pools).
#   python -m train.train --config train/configs/distil_pools.py --threads 1 --workers 1
# Run side by side with stage 31b (distil_inet.py): same init, seed, pools and split.
# Candidates, fixed before it runs: its best checkpoint, through `python -m train.gate --run
# runs/probe-lite0 ...` (stage 22's split; the shipped weights' 0.8464 to beat).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_ccp.py"))
out = "runs/distil-pools"
init = "runs/distil-ccp/best.pth"  # stage 30a's epoch 3, the shipped weights at threshold 0.5
