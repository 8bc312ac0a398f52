# Stage 13, "distil-boundary": stage 12 with stage 5's per-pixel weights on teacher labels.
# Every run since stage 7 weighs teacher labels by |2p - 1| (teacher_confidence), which leaves
# the pixels U-2-Net called ~0.5 (often the extra objects beside the main one) almost without
# loss; stage 5 weighed them like ground truth (boundary weights) and kept more davis precision
# (0.78 against 0.74-0.76 for stages 11 and 12). Same data, schedule and selection photos as
# stage 12, so the selection split compares the two weightings directly.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_imagenet.py"))
out = "runs/distil-boundary"
teacher_confidence = False
