# Stage 1: pre-train on the large, medium-quality sets (overrides train/train.py's DEFAULTS).
# viton-person masks are rough (neck/skin sometimes missing) but plentiful; CCP adds real scenes;
# CopyPaste puts the clean VITON garments in front of real photos. Teacher-labelled folders go in
# extra_sets (e.g. --extra-sets runs/teacher/imagenet-1k:0.5).
out = "runs/stage1"
train_sets = ["train/viton-person:1.0", "train/ccp:1.0"]
copypaste_donors = ["train/viton-cloth"]
copypaste_backgrounds = ["backgrounds", "train/ccp"]
copypaste_weight = 1.5
# The fresh decoder first learns to read the ImageNet features before they are allowed to move.
freeze_encoder_epochs = 1
epochs = 20
steps_per_epoch = 300
val_limit = 200
