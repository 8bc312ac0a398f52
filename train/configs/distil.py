# Stage 7, "distil": the teacher-distilled general model (overrides train/train.py's DEFAULTS).
# Why each change: shared/design/training-review.md and weights/MODEL_CARD.md ("Stage 7").
#
# Data: ~21k teacher-labelled photos (python -m train.photo_sources, then
# python -m train.label_teacher, see train/README.md) beside the human-labelled garments and
# street photos. The teacher-labelled pools and CCP each lend 60 photos to the selection split,
# which alone picks best.pth; val/ is only reported.
out = "runs/distil"
init = "runs/stage5/best.pth"  # matching tensors only: the stride-2 stage starts fresh
# (stage 5's weights: weights/ held them until stage 15 replaced them on 2026-12-01;
# `git show 5b898d2:weights/bgremove-lite0.pth > runs/stage5/best.pth` restores them)
pretrained_encoder = False
model_args = {"encoder": "lite0", "stride2": "slim", "deep_supervision": True}
_labels = "cache/labels/u2net"
train_sets = ["train/viton-cloth:1.0", "train/ccp:1.5", "train/viton-person:0.2"]
extra_sets = [f"{_labels}/caltech101:1.0", f"{_labels}/imagenet-1k:0.6",
              f"{_labels}/grocery:0.5", f"{_labels}/clothing:0.8", f"{_labels}/backgrounds:0.2"]
holdout_sets = ["train/ccp:60", f"{_labels}/caltech101:60", f"{_labels}/imagenet-1k:60",
                f"{_labels}/grocery:60", f"{_labels}/clothing:60"]
best_set = "select"
patience = 0  # the cosine schedule runs to its end; EMA + selection pick the epoch
# Composites: garments and teacher-labelled objects pasted small and large onto photos whose own
# objects keep their labels (teacher-labelled BSDS, human-labelled CCP): no scene is "all
# background" because it lacks a mask.
copypaste_donors = ["train/viton-cloth:0.5", f"{_labels}/caltech101:0.5", f"{_labels}/imagenet-1k:0.3"]
copypaste_backgrounds = [f"{_labels}/backgrounds", "train/ccp", f"{_labels}/grocery"]
copypaste_weight = 1.0
paste_scale = [0.1, 0.7]
zoom = [0.5, 1.5]  # the median DAVIS object is 5% of the canvas; 0.75-1.25 never showed one
mask_padding = True
teacher_confidence = True
# Loss: BCE + soft IoU (BASNet), deep supervision at strides 4-16 (U2-Net), no Dice.
bce_weight = 1.0
dice_weight = 0.0
iou_weight = 1.0
aux_weight = 0.4
# Speed on 2 cores: a slim stride-2 stage, the encoder frozen up to stride 8 and 256 px crops for
# the first 80% of the steps, 320 px (the inference size) for the rest.
freeze_stride8_frac = 0.8
early_input_size = 256
early_frac = 0.8
ema_decay = 0.998
lr = 5e-4
warmup_steps = 200
epochs = 24
steps_per_epoch = 400
val_limit = 100
