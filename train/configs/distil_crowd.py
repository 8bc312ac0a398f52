# Stage 26 (a 400-step diagnostic), "diag26-crowd": do composites with a crowd teach "subject, not
# crowd"? Half of davis's gap to U-2-Net is one clip, a dancer in a ring of onlookers that the
# student keeps as foreground (breakdance precision 0.48 against U-2-Net's 0.79), and no training
# source shows a subject among others of its kind with only the subject labelled: CCP and
# viton-person label every person, the teacher pools rarely hold crowds, and dropping the CCP
# backgrounds moved breakdance by only 0.009 (model card, "Are the crowd's pixels taught by
# composites on CCP photos?"). Here every composite first gets 1-4 other donors of its pool pasted
# unlabelled at 0.3-0.7x its object's scale (train/copypaste.py, `distractors`).
# The control is the same run without them, from the same weights, same seed, side by side:
#   python -m train.train --config train/configs/distil_relabel.py --epochs 1 \
#       --init runs/soup22/best.pth --threads 1 --workers 1 --out runs/diag26-base
#   python -m train.train --config train/configs/distil_crowd.py --threads 1 --workers 1
# runs/soup22/best.pth is the shipped soup with its threshold moved back and its guided filter
# and sharpening cleared (`python -m train.threshold --write 0.4 weights/bgremove-lite0.pth --out
# runs/soup22/best.pth`, then `python -m train.guide --write 0` and `python -m train.calibrate
# --write 2.0` on it): the network stage 22's soup was.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_relabel.py"))
out = "runs/diag26-crowd"
init = "runs/soup22/best.pth"
epochs = 1  # 400 steps: a direction, read on the split and on davis by clip, not a candidate
paste_distractors = [1, 4]
distractor_scale = [0.3, 0.7]
