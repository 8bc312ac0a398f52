# Stage 7b, "distil-cpu": stage 7 ("distil") continued as a short run that fits one CPU session.
# Stage 7's 9,600 steps take ~8 h on 2 cores; its first epoch (EMA) starts this run, which keeps
# stage 7's selection photos out of training and runs its own full cosine schedule to the end.
from train.config import parent_config

globals().update(parent_config(__file__, "distil.py"))
out = "runs/distil-cpu"
init = "runs/distil/best.pth"
selection_from = "runs/distil/selection.json"
# Teacher labels so far cover the pools unevenly (all of imagenet-1k, a few hundred of the rest):
# weights that keep any one pool from being seen dozens of times.
_labels = "cache/labels/u2net"
extra_sets = [f"{_labels}/caltech101:0.3", f"{_labels}/imagenet-1k:1.0", f"{_labels}/grocery:0.15",
              f"{_labels}/clothing:0.2", f"{_labels}/backgrounds:0.2"]
lr = 3e-4  # the network is already past its first epoch
warmup_steps = 50
epochs = 4  # ~1,600 steps at 3-4.5 s on a shared 2-core machine: what one session holds
steps_per_epoch = 400
