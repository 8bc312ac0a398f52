# Stage 27 (a 400-step diagnostic), "diag27-shadow": do composites with shadows teach the student
# to leave ground shadows and reflections out? On davis the student keeps a car's shadow on the
# road, a scooter's and a swan's reflection (car-roundabout precision 0.85 against U-2-Net's 0.97,
# scooter-black 0.64 against 0.80, blackswan 0.88 against 0.98; model card, "Stage 27"), and no
# training source labels a ground shadow as background. Here 70% of composites get their object's
# cast shadow or (a quarter of those) its reflection, drawn on the background and labelled
# background (train/shadows.py).
# The control is the same run without them, from the same weights, same seed, side by side:
#   python -m train.train --config train/configs/distil_relabel.py --epochs 1 \
#       --init runs/soup22/best.pth --threads 1 --workers 1 --out runs/diag27-base
#   python -m train.train --config train/configs/distil_shadow.py --threads 1 --workers 1
# (runs/soup22/best.pth: stage 22's soup, threshold, guided filter and sharpening cleared, as in
# distil_crowd.py.)
from train.config import parent_config

globals().update(parent_config(__file__, "distil_relabel.py"))
out = "runs/diag27-shadow"
init = "runs/soup22/best.pth"
epochs = 1  # 400 steps: a direction, read on the split and on davis by clip, not a candidate
paste_shadows = 0.7
