# Stage 14, "distil-isnet": stage 13 with the ImageNet photos labelled by the mean of U-2-Net and
# ISNet (1024 px) instead of U-2-Net alone. imagenet-1k is the pool nearest davis (animals,
# vehicles, people in scenes) and ~32% of the samples; on the val sets' ground truth that mean
# labels DAVIS-style objects better than U-2-Net (davis 0.825 / MAE 0.024 against 0.807 / 0.019,
# ccp 0.960 against 0.959: weights/MODEL_CARD.md, "Teachers"). ISNet costs ~5 s a photo on one
# core, so only this pool of 1,000 is relabelled (~1.5 h on 2 cores beside other jobs):
#   python -m train.label_teacher ../shared/data/unlabeled/imagenet-1k --out cache/labels/u2net-isnet \
#       --teacher u2net=.peers/u2net/u2net.onnx --teacher isnet=cache/teachers/isnet.onnx --workers 2
# The other pools keep their U-2-Net labels. The same photos are held out for selection as in
# stages 11-13 (selection_alias), scored against the new labels: stage 5 is scored on this split
# again before the two are compared.
from train.config import parent_config, relabelled

globals().update(parent_config(__file__, "distil_boundary.py"))
out = "runs/distil-isnet"
_old, _new = "cache/labels/u2net/imagenet-1k", "cache/labels/u2net-isnet/imagenet-1k"
globals().update(relabelled(globals(), _old, _new))
selection_alias = {_new: _old}
