# Stage 35, "mirror-distil": stage 30a's recipe, 800 steps from the shipped weights at threshold
# 0.5, with a term pulling each mask toward the mean of itself and its mirror image's prediction
# (mirror_weight; train/loss.py mirror_consistency). `--mirror` (bgremove/inference/mirror.py)
# gains val/davis 0.7492 -> 0.7683 and ccp 0.9590 -> 0.9601 with a second network call on busy
# scenes, which the throughput bar on bench_run.py's folder of scenes does not leave room for by
# default; this asks whether the average can be learnt into the one call. The mirrored forward
# runs without gradient (one more forward a step: ~1.3x the step time).
#   python -m train.train --config train/configs/mirror_distil.py --threads 2 --workers 1
# Candidates, fixed before it runs: its best checkpoint (the split's mean IoU at threshold 0.5),
# through `python -m train.gate --run runs/split ... --small-run runs/split-small`.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_ccp.py"))
out = "runs/mirror-distil"
init = "cache/gpu-init.pth"  # the shipped .pth with its threshold moved back to 0.5
epochs = 2  # 800 steps: two split reads inside one session
mirror_weight = 1.0  # as much as the labels' BCE: where the two views agree it adds nothing
