# Stage 32, "distil-zoomcrop": stage 31b with 30% of samples first cropped as inference's zoom
# crops a small object (train.augment.ZoomCrop: the label's object box with its margin, at the
# photo's aspect, where it covers at most 0.7 of the photo). Since 2026-12-04 the shipped
# weights look a second time at small objects, on crops the network never trained on (whole
# photos only): davis 0.7249 -> 0.7435 with the zoom. This teaches the second look's framing.
# One epoch (its cosine schedule to its end): stage 31b's best was its first of three.
#   python -m train.train --config train/configs/distil_zoomcrop.py --threads 1 --workers 1
# Candidate, fixed before it runs: its best checkpoint, through `python -m train.gate --run
# runs/split ...` (stage 20's split with the int8 teacher's pools; the shipped 0.8464 to beat).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_inet.py"))
out = "runs/distil-zoomcrop"
zoom_crop = 0.3
epochs = 1
