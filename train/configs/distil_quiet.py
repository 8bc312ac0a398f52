# Stage 29, "distil-quiet": stage 22's recipe from its soup with stage 28's background filter.
# Stage 28's diagnostic (distil_quietbg.py, 400 steps against a control with the same weights,
# seed and pools) scored 0.8411 on the split against 0.8361 (grocery-select 0.633 against 0.607),
# from weights that score 0.8386 there: composites only on backgrounds whose own label is mostly
# decided background. Here three epochs of it, one cosine schedule (1,200 steps; stage 22 peaked
# at its epoch 2), on the pools as far as relabelled.
#   python -m train.train --config train/configs/distil_quiet.py --threads 2 --workers 1
# Candidates, fixed before it runs: its best checkpoint, and its soup with runs/soup22/best.pth
# (alpha 0.5), through `python -m train.gate --run runs/probe-lite0 ...` (stage 22's split, the
# shipped weights' 0.8412 to beat).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_relabel.py"))
out = "runs/distil-quiet"
init = "runs/soup22/best.pth"
epochs = 3
background_max_coverage = 0.35
background_min_confidence = 0.85
