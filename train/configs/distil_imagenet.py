# Stage 12, "distil-imagenet": stage 11 with the ImageNet photos at stage 5's share of samples.
# Every run on the new recipe (stages 7-11) was below stage 5 on davis from its first epoch on,
# and on imagenet-1k-select too (stage 11: 0.7400 vs 0.7443), the pool nearest davis (animals,
# vehicles, people in scenes). Stage 5 drew ~37% of its samples from teacher-labelled ImageNet
# photos (stage5.py: weight 2.0); stage 11 draws ~16% (weight 1.0 beside the new pools and
# composites). Weight 2.5 brings it back to ~32% while the new pools stay. Same selection photos
# as stage 11, so the two are scored on the same split.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_320.py"))
out = "runs/distil-imagenet"
selection_from = "runs/distil-320/selection.json"
_labels = "cache/labels/u2net"
extra_sets = [f"{_labels}/caltech101:0.5", f"{_labels}/imagenet-1k:2.5", f"{_labels}/grocery:0.25",
              f"{_labels}/clothing:0.3", f"{_labels}/backgrounds:0.2"]
