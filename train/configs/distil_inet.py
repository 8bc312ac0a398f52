# Stage 31b, "distil-inet": stage 31a with imagenet-1k drawn twice as often (weight 2.5 -> 5.0).
# imagenet-1k is the pool nearest val/davis (one object in a scene, other objects around it, the
# teacher deciding which is the subject), and the one lever on davis the last stages showed:
# stage 30b halved its weight and lost 0.0054 on davis. Each of its 940 photos is seen ~5 times
# in stage 31a and ~9 times here: the cost to watch is memorising them (imagenet-1k-select).
#   python -m train.train --config train/configs/distil_inet.py --threads 1 --workers 1
# Run side by side with stage 31a (distil_pools.py): same init, seed, pools and split.
# Candidates, fixed before it runs: its best checkpoint, through `python -m train.gate --run
# runs/probe-lite0 ...` (stage 22's split; the shipped weights' 0.8464 to beat).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_pools.py"))
out = "runs/distil-inet"
extra_sets = [spec.replace("imagenet-1k:2.5", "imagenet-1k:5.0") for spec in extra_sets]  # noqa: F821
