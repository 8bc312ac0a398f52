"""Train a bgremove segmentation model.

    python -m train.train --config train/configs/stage1.py --out runs/stage1
    python -m train.train --config train/configs/stage1.py --out runs/stage1 --resume

Every default lives in DEFAULTS below with the reason for it; a config file overrides what differs
(train/configs/stage1.py, stage2.py) and any key can be overridden again on the command line.
"""

from __future__ import annotations

import sys
from typing import Any

DEFAULTS: dict[str, tuple[Any, str]] = {
    # ---- where things are
    "out": ("runs/train", "folder for resume.pt, best.pth, best.onnx, history.csv/.png"),
    "data_root": ("../shared/data", "relative set folders are looked up here first"),
    "cache_dir": ("cache", "root of prepare_cache's pre-resized copies; '' to read the originals"),
    "cache_long_side": (384, "long side of cached images: about input_size x the largest zoom"),
    # ---- data
    "train_sets": (["train/ccp"], "'dir[:weight]' pair folders; weight = share of the samples"),
    "extra_sets": ([], "more 'dir[:weight]' pair folders, e.g. teacher-labelled photos"),
    "copypaste_donors": ([], "'dir[:weight]' pair folders pasted onto backgrounds, one source each"),
    "copypaste_backgrounds": (["backgrounds"], "folders of photos (or pair folders) to paste onto"),
    "copypaste_weight": (0.0, "sampling weight of composites, times each donor's (0 = none)"),
    "val_sets": (["val/viton-cloth", "val/ccp", "val/davis"], "pair folders, reported separately"),
    "val_split": (0.0, "if > 0, also hold out this fraction of each train set as '<set>-holdout'"),
    "val_limit": (0, "at most this many images per val set, evenly spaced (0 = all)"),
    "holdout_sets": ([], "'dir:count': items of a training folder held out as '<set>-select'"),
    "selection_from": ("", "selection.json of the run `init` came from: a fine-tune keeps its "
                           "parent's held-out photos out of training too"),
    "selection_alias": ({}, "{folder: recorded folder}: a pool relabelled into a new folder "
                            "holds out the photos recorded for its old one"),
    "workers": (2, "DataLoader processes; the step itself dominates on CPU, 2 hides decoding"),
    "augment_strength": (1.0, "0 = resize/crop only, 1 = the full augmentation pipeline"),
    "zoom": ([0.75, 1.25], "range of the photo's long side relative to the crop (log-uniform)"),
    "zoom_crop": (0.0, "share of samples cropped around their labelled object as inference's "
                         "zoom crops a small one, before the zoom above (0 = none)"),
    "paste_scale": ([0.35, 0.95], "pasted object's size relative to the background (log-uniform)"),
    "background_max_coverage": (1.0, "CopyPaste backgrounds whose own label covers more of "
                                     "the photo are left out (1.0 = keep all)"),
    "background_min_confidence": (0.0, "...and those whose label's mean |2p - 1| is lower "
                                       "(0.0 = keep all)"),
    "paste_distractors": ([0, 0], "(lo, hi) unlabelled donors pasted before each composite's "
                                  "object: a subject among a crowd of its kind (0 = none)"),
    "distractor_scale": ([0.3, 0.7], "a distractor's size relative to the composite's object"),
    "distractor_donors": ([], "donor folders whose composites get the distractors, drawn from "
                              "the same folder: people among people only (empty = every folder)"),
    "paste_shadows": (0.0, "share of composites whose object casts a shadow or reflection, "
                           "labelled background (0 = none)"),
    "mask_padding": (False, "no loss on the replicated padding around a zoomed-out photo"),
    "teacher_confidence": (False, "weigh teacher labels by |2p - 1| instead of boundary weights"),
    # ---- model
    "model_args": ({"encoder": "lite0"}, "passed to bgremove.model.build_model"),
    "pretrained_encoder": (True, "start the encoder from ImageNet weights (ignored with init)"),
    "init": ("", "checkpoint whose weights start this run (stage 2 starts from stage 1's best)"),
    "input_size": (320, "training crop size = inference long side (the speed/quality trade-off)"),
    "square_input": (False, "stretch photos to the square input, aspect not kept, in training "
                            "and (stored in the weights) at inference: a 4:3 or 2:3 photo fills "
                            "the input instead of sharing it with replicated padding"),
    "early_input_size": (0, "crop size for the first early_frac of the steps (0 = input_size)"),
    "early_frac": (0.8, "share of the steps at early_input_size"),
    # ---- optimisation
    "epochs": (30, "upper bound; early stopping usually ends sooner"),
    "steps_per_epoch": (0, "an 'epoch' of N steps, to validate regularly (0 = one data pass)"),
    "max_steps": (0, "stop (resumable) after this many steps in all, as if killed (0 = off)"),
    "batch_size": (8, "a 2-core CPU step of a few seconds; enough samples for BatchNorm"),
    "lr": (1e-3, "AdamW peak learning rate for the decoder (a fresh network)"),
    "encoder_lr_mult": (0.3, "pretrained encoder weights move slower than the fresh decoder"),
    "weight_decay": (1e-4, "mild: the data is small, BatchNorm and biases are exempt"),
    "warmup_steps": (200, "linear warm-up before the cosine decay: Adam's early steps are noisy"),
    "min_lr_frac": (0.02, "cosine decays to this fraction of lr, not to zero"),
    "grad_clip": (2.0, "clip the gradient norm: boundary weights make rare large gradients"),
    "freeze_encoder_epochs": (0, "keep the encoder (and its BatchNorm stats) fixed N epochs"),
    "freeze_stride8_frac": (0.0, "share of the steps with the encoder fixed up to stride 8"),
    "ema_decay": (0.0, "validate, select and ship an EMA of the weights (0 = off)"),
    "bce_weight": (1.0, "weight of the boundary-weighted BCE term"),
    "dice_weight": (1.0, "weight of the Dice term (keeps small objects from being ignored)"),
    "iou_weight": (0.0, "weight of the soft-IoU term (BASNet's; sharper region boundaries)"),
    "aux_weight": (0.4, "weight of the deep-supervision heads' mean loss (model_args)"),
    "mirror_weight": (0.0, "weight of a BCE pulling each mask toward the mean of itself and "
                           "its mirror image's prediction (0 = off): --mirror's average learnt "
                           "into one call"),
    "boundary_amplitude": (4.0, "BCE weight is 1 + this on the pixels next to the outline"),
    "boundary_sigma": (3.0, "decay length (px) of the boundary weight"),
    # ---- selection, stopping, checkpoints
    "best_metric": ("iou", "val metric that picks best.pth (bgremove.modeltools.metrics.METRICS)"),
    "best_set": ("mean", "set whose metric decides: 'mean' of all, 'select' (the -select sets)"),
    "patience": (6, "stop after this many epochs without a better best_metric (0 = never)"),
    "min_delta": (1e-4, "an improvement smaller than this does not reset the patience"),
    "save_every": (100, "write resume.pt every N steps (and at every epoch end)"),
    "log_every": (10, "print the running loss every N steps"),
    "export_onnx": (True, "export best.pth to best.onnx at the end (bgremove.modeltools.export)"),
    # ---- machine
    "device": ("auto", "auto | cpu | cuda"),
    "amp": ("auto", "auto (bf16/fp16 autocast on CUDA, off on CPU) | off | bf16 | fp16"),
    "channels_last": (True, "NHWC memory format: faster depthwise convs on CPU (oneDNN)"),
    # One core is left to the data workers: an OpenMP thread that has to wait for a busy core
    # stalls every op (2 cores, another process busy: 6.6 s/step with 2 threads, 2.5 s with 1).
    "threads": (0, "torch threads on CPU; 0 = all cores but one"),
    "seed": (1337, "seeds the model init, the sample stream and every augmentation"),
}

DESCRIPTION = "Train the bgremove segmentation network (see train/README.md)."


def main(argv: list[str] | None = None) -> int:
    from bgremove.errors import BgRemoveError
    from train.config import resolve

    cfg, resume = resolve(argv, DEFAULTS, DESCRIPTION)
    try:
        from train.trainer import Trainer

        Trainer(cfg, resume=resume).run()
    except BgRemoveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
