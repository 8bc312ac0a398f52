# Stage 33, "gpu-long": stage 30a's recipe trained long on a lent GPU (issue 13's "train long").
# On 2 CPU cores a stage affords ~1,200 steps of 8 photos (9,600 samples, ~1 h); every stage
# since 29 moved the split by at most 0.0015. A lent H200 with 16 cores for the data workers
# draws that many samples in well under a minute, so this run asks whether many more samples of
# the same recipe (the same sources, weights and augmentation) still pay. The data travels as
# a pack (`python -m train.pack`, 384 px, at most 64 MiB a call): every labelled pool photo,
# train/ccp whole, seeded shares of viton-cloth and viton-person; the split's photos travel
# and are held out there as here; the small-object splits' photos stay home.
#   python -m train.train --config train/configs/gpu_long.py --data-root /tmp/pack \
#       --selection-from /tmp/pack/selection.json --init /tmp/gpu-init.pth --device cuda
# Candidates, fixed before it runs: its best checkpoint (selection on the split, threshold 0.5,
# EMA), through `python -m train.gate --run runs/split ... --small-run runs/split-small`.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_ccp.py"))
out = "runs/gpu-long"
init = "cache/gpu-init.pth"  # the shipped .pth with its threshold moved back to 0.5
cache_dir = ""  # the pack is at 384 px already
selection_alias = {}  # the pack names its pools by their int8-teacher folders
val_sets = []  # val/ is reported at home, never shipped to training
batch_size = 32  # BatchNorm statistics and a GPU's width; the data workers set the pace
lr = 2e-4  # 30a's 7.8e-5 at batch 8, scaled by ~sqrt(4) for batch 32 and a longer run
warmup_steps = 200
ema_decay = 0.999  # horizon ~1,000 steps: about a tenth of the run, as 0.998 was of 30a's
steps_per_epoch = 1400  # two split reads in the run: each one costs ~10 s of device time
epochs = 2  # 0.09 s a step, measured in the first call: 2,800 steps fit one 10-minute call
workers = 14  # 16 cores: two left to the training process and the copy of checkpoints
export_onnx = False  # exported at home with the same exporter as every shipped file
