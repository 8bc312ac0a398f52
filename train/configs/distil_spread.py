# Stage 30b, "distil-spread": stage 29's recipe again from its best, with the general-object
# share spread over the relabelled pools instead of repeating imagenet-1k. Stage 29 drew 32% of
# its samples from imagenet-1k's 940 photos (weight 2.5, the pool that was complete first) and
# 6.5% from caltech101's ~1,800; by this run's start the int8 teacher has labelled ~2,100
# caltech101, ~1,400 grocery and ~1,400 clothing photos. Same total weight on the four pools
# (3.55), now imagenet-1k 1.25, caltech101 1.25, grocery 0.5, clothing 0.55: fewer repeats of
# each photo, the first cause ("too few general images ... memorised").
#   python -m train.train --config train/configs/distil_spread.py --threads 1 --workers 1
# Run side by side with stage 30a (distil_ccp.py): same init, seed, pools and split.
# Candidates, fixed before it runs: its best checkpoint, through `python -m train.gate --run
# runs/probe-lite0 ...` (stage 22's split; the shipped weights' 0.8449 to beat).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_quiet.py"))
out = "runs/distil-spread"
init = "runs/distil-quiet/best.pth"  # stage 29's epoch 3, the shipped weights at threshold 0.5
_labels = "cache/labels/u2net-int8/"
extra_sets = [_labels + "caltech101:1.25", _labels + "imagenet-1k:1.25", _labels + "grocery:0.5",
              _labels + "clothing:0.55", _labels + "backgrounds:0.2"]
