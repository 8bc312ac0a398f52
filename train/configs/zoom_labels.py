# Stage 34, "zoom-labels": stage 30a's recipe with imagenet-1k and the backgrounds labelled by the
# teacher given bgremove's second look at small objects (label_teacher --zoom 0.7), the pools
# nearest val/davis. U-2-Net sees a photo at 320 px too and labels a small object as a blob; with
# the zoom it scores 0.7890 -> 0.7971 on val/davis's ground truth (0.9583 on val/ccp either way),
# so the labels the student copies on scene photos get sharper where they were blobs.
#   python -m train.label_teacher ../shared/data/unlabeled/imagenet-1k ../shared/data/backgrounds \
#       --out cache/labels/u2net-int8-zoom --teacher u2net-int8=cache/teachers/u2net-int8.onnx \
#       --zoom 0.7 --workers 2
# The small-object splits judge the zoom (train.gate --small-run): their photos stay out of
# training: cache/labels/u2net-int8-zoom-train/<pool>/{images,masks} holds links to every labelled
# pair of cache/labels/u2net-int8-zoom/<pool> whose stem small.json does not list for that pool
# (made by a one-off loop, not committed: imagenet-1k 869 pairs, backgrounds 165).
#   python -m train.train --config train/configs/zoom_labels.py --threads 2 --workers 1
# Candidates, fixed before it runs: its best checkpoint (the split's mean IoU at threshold 0.5),
# through `python -m train.gate --run runs/split ... --small-run runs/split-small`.
from train.config import parent_config, relabelled

globals().update(parent_config(__file__, "distil_ccp.py"))
out = "runs/zoom-labels"
init = "cache/gpu-init.pth"  # the shipped .pth with its threshold moved back to 0.5
epochs = 2  # 800 steps: two split reads inside one session
_old, _new = "cache/labels/u2net-int8/", "cache/labels/u2net-int8-zoom-train/"
for _pool in ("imagenet-1k", "backgrounds"):
    globals().update(relabelled(globals(), _old + _pool, _new + _pool))
selection_alias = {**selection_alias, _new + "imagenet-1k": "cache/labels/u2net/imagenet-1k"}  # noqa: F821
