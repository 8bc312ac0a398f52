# Stage 5 (the shipped weights: best = epoch 7): stage 3's recipe with ~13% more teacher labels
# (overrides train/train.py's DEFAULTS).
# The 692 teacher-labelled photos are the limit on general objects (stage 3 peaked after 8 epochs
# and stage 4, pasting the same objects onto scenes, did not move past it). These 88 more are
# photos U2-Net was less sure about (python -m train.label_teacher ... --max-undecided 0.35:
# 25-35% of the object's pixels soft), so they get a lower weight per image than the main set.
out = "runs/stage5"
init = "runs/stage3/best.pth"
pretrained_encoder = False
train_sets = ["train/viton-cloth:1.0", "train/ccp:1.0", "train/viton-person:0.2"]
extra_sets = ["cache/teacher-imagenet:2.0", "cache/teacher-imagenet-relaxed:0.15"]
copypaste_donors = ["train/viton-cloth"]
copypaste_backgrounds = ["backgrounds", "train/ccp"]
copypaste_weight = 1.0
lr = 2e-4
warmup_steps = 30
epochs = 10
steps_per_epoch = 200
val_limit = 100
patience = 4
