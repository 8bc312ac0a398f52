# Stage 18, "distil-square2": stage 17's recipe again, from stage 17 (shipped 2026-12-01): a
# second round on the stretched input, as stage 16 was a second round of stage 13's recipe.
# Same selection photos as stages 11-17, so stage 17's 0.8266 there (0.8267 through the Remover)
# is the figure to beat; the soup of stage 17 and this run's best (alpha 0.5, fixed in advance)
# is the other candidate, and either must also keep viton-cloth at 0.963 or above.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_square.py"))
out = "runs/distil-square2"
init = "runs/stage17/best.pth"
# (stage 17's weights, shipped in weights/ since 2026-12-01:
# `git show b0b6447:weights/bgremove-lite0.pth > runs/stage17/best.pth` restores them)
