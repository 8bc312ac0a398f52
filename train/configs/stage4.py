# Stage 4: more general-object variety from the same 692 teacher-labelled photos (overrides
# train/train.py's DEFAULTS). Stage 3 peaked on val/davis after 8 epochs while its training loss kept
# falling: the teacher photos were memorised. Here their objects are also pasted onto scenes as a
# second composite source, so each labelled object is seen in front of many backgrounds. The
# teacher-labelled BSDS photos stay out: BSDS is also the composite background set, where the same
# objects are labelled background.
out = "runs/stage4"
init = "runs/stage3/best.pth"
pretrained_encoder = False
train_sets = ["train/viton-cloth:1.0", "train/ccp:1.0", "train/viton-person:0.2"]
extra_sets = ["cache/teacher-imagenet:2.0"]
copypaste_donors = ["train/viton-cloth:1.0", "cache/teacher-imagenet:1.0"]
copypaste_backgrounds = ["backgrounds", "train/ccp"]
copypaste_weight = 1.0
lr = 2e-4
warmup_steps = 30
epochs = 12
steps_per_epoch = 200
val_limit = 100
patience = 4
