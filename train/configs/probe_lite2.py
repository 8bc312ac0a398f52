# Stage 25b, "probe-lite2": the other arm of probe_lite0.py's capacity probe. An EfficientNet-Lite2
# encoder (4.6 M parameters in all against 3.2 M), paid for by the slim stride-2 stage and a
# decoder of (64, 48, 32, 24) channels with 12-channel branches, so that one network call at 320 px
# costs the shipped one's (1.00x, 1 thread, `python bench/bench_weights.py`).
from train.config import parent_config

globals().update(parent_config(__file__, "probe_lite0.py"))
out = "runs/probe-lite2"
model_args = {"encoder": "lite2", "stride2": "slim", "decoder_channels": (64, 48, 32, 24),
              "cat_channels": 12, "deep_supervision": True}
# Outcome (2026-12-03): split by epoch 0.7737, 0.8120, 0.8240, 0.8175, 0.8242, 0.8271 (best, the
# last), against the Lite0 arm's 0.8305: at this cost the larger encoder is not the lever.
