# Stage 18, "distil-square2": stage 17's recipe again, from stage 17 (shipped 2026-12-01): a
# second round on the stretched input, as stage 16 was a second round of stage 13's recipe.
# Same selection photos as stages 11-17, so stage 17's 0.8266 there (0.8267 through the Remover)
# is the figure to beat; the soup of stage 17 and this run's best (alpha 0.5, fixed in advance)
# is the other candidate, and either must also keep viton-cloth at 0.963 or above.
# Outcome (2026-12-02): best 0.8275, soup 0.8282; both within the val rule in fp32, but both
# int8 files lost more than 0.005 to fp32 on davis: not shipped (model card, "Stage 18").
from train.config import parent_config

globals().update(parent_config(__file__, "distil_square.py"))
out = "runs/distil-square2"
init = "runs/stage17/best.pth"
# (stage 17's weights, shipped in weights/ since 2026-12-01:
# `git show b0b6447:weights/bgremove-lite0.pth > runs/stage17/best.pth` restores them)
