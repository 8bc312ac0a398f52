# Stage 31c, "distil-people": stage 31a with composites of a person among other people, only the
# person labelled. Half of davis's gap to U-2-Net is one clip, a dancer in a ring of onlookers
# that the student keeps at half alpha (breakdance IoU 0.430, precision 0.488 with the shipped
# weights; U-2-Net 0.714 / 0.792): train/ccp and viton-person label every person in a photo, and
# no source shows a person as background. Stage 26 pasted unlabelled distractors from every donor
# pool (breakdance +0.022, davis -0.001) and taught "the smaller of two garments is background" as
# well; here train/ccp's people are donors too (human masks, weight 1.0: ~10% of the samples), and
# only their composites get 1-4 other train/ccp people pasted first, unlabelled, at 0.4-0.8x the
# person's scale: the subject is the largest, frontmost person.
#   python -m train.train --config train/configs/distil_people.py --threads 1 --workers 1
# Run beside stages 31a and 31b (same init, seed, pools and split; started 15 minutes later).
# Candidates, fixed before it runs: its best checkpoint, through `python -m train.gate --run
# runs/probe-lite0 ...` (stage 22's split; the shipped weights' 0.8464 to beat).
from train.config import parent_config

globals().update(parent_config(__file__, "distil_pools.py"))
out = "runs/distil-people"
copypaste_donors = [*copypaste_donors, "train/ccp:1.0"]  # noqa: F821
paste_distractors = [1, 4]
distractor_scale = [0.4, 0.8]
distractor_donors = ["train/ccp"]
