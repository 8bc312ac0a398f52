# Stage 17, "distil-square": stage 13's recipe from the shipped stage 15, with every photo
# stretched to the square input (square_input), as the weights then ask inference to do. Today a
# 4:3 photo fills 320 x 240 of the 320 x 320 input and a 2:3 portrait (ccp) 213 x 320; the rest
# is replicated padding the network still pays for. Stage 15's own weights run stretched, without
# training for it, scored 0.8183 on the selection split against 0.8199 unstretched (ccp-select
# +0.0075, imagenet-1k +0.006, caltech101 -0.007, clothing -0.016): the people and scenes gain
# from the pixels, the shapes the network never saw distorted lose. This run teaches it the
# distortion. Same selection photos as stages 11-16, so 0.8199 (stage 15) is the figure to beat;
# the soup of stage 15 and this run's best (alpha 0.5, fixed in advance) is the other candidate.
from train.config import parent_config

globals().update(parent_config(__file__, "distil_iter.py"))
out = "runs/distil-square"
square_input = True
