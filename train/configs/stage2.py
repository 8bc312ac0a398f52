# Stage 2: fine-tune stage 1's best weights on the high-quality sets at a lower learning rate.
out = "runs/stage2"
init = "runs/stage1/best.pth"
pretrained_encoder = False
train_sets = ["train/viton-cloth:1.5", "train/ccp:1.0"]
copypaste_donors = ["train/viton-cloth"]
copypaste_backgrounds = ["backgrounds", "train/ccp"]
copypaste_weight = 1.0
lr = 3e-4
warmup_steps = 50
epochs = 12
steps_per_epoch = 300
val_limit = 200
patience = 4
