# Stage 3: widen a fine-tuned model back towards general objects (overrides train/train.py's DEFAULTS).
# Stage 2 alone lowered val/davis IoU every epoch: garments and people dominate its data, so the model
# learns "person = foreground" and marks crowds and clutter. Here teacher-labelled ImageNet photos
# (python -m train.label_teacher) carry the largest share (~40% of samples), the garment and CCP sets
# stay in the mix so the catalog domain is kept, and composites paste garments onto real scenes
# (people included), which teaches that only the salient object is foreground.
out = "runs/stage3"
init = "runs/stage2b/best.pth"
pretrained_encoder = False
train_sets = ["train/viton-cloth:1.0", "train/ccp:1.0", "train/viton-person:0.2"]
extra_sets = ["cache/teacher-imagenet:2.0"]
copypaste_donors = ["train/viton-cloth"]
copypaste_backgrounds = ["backgrounds", "train/ccp"]
copypaste_weight = 1.0
lr = 3e-4
warmup_steps = 50
epochs = 16
steps_per_epoch = 200
val_limit = 100
patience = 5
