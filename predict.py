"""Remove the background from one image (the seed project's interface, kept for scripts).

    python predict.py --image shoe.jpg --output shoe.png              # RGBA cutout
    python predict.py --image shoe.jpg --output shoe.mask.png --mask  # 8-bit alpha mask
    python predict.py --image shoe.jpg --output shoe.jpg              # composite on white

The output's extension picks the format: .png or .webp give a transparent cutout (WebP
lossless); .jpg/.jpeg, which cannot be transparent, a composite on --bg-color. For folders, use
`bgremove run`. Exit codes: 0 ok, 1 unusable image, 2 usage or weights problem.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bgremove.errors import BgRemoveError, ConfigError, ImageError
from bgremove.imaging.compose import alpha_to_uint8, render_outputs
from bgremove.imaging.encode import encode_image
from bgremove.imaging.outputs import OutputOptions
from bgremove.imaging.safewrite import write_atomic

_FORMATS = {".png": "png", ".webp": "webp", ".jpg": "jpg", ".jpeg": "jpg"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", required=True, help="input image")
    p.add_argument("--output", required=True, help="output file (.png, .webp, .jpg)")
    p.add_argument("--weights", default=None,
                   help="weights file (.onnx, .pth); default: bundled (int8 on a CPU)")
    p.add_argument("--mask", action="store_true", help="write the alpha mask instead")
    p.add_argument("--tta", action="store_true", help="flip + multi-scale averaging (~5x slower)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model")
    p.add_argument("--bg-color", default="white", help="background for .jpg outputs")
    p.add_argument("--no-decontaminate", action="store_true",
                   help="keep the original colours of semi-transparent edge pixels")
    return p


def _make_remover(args: argparse.Namespace):
    from bgremove.inference.remover import Remover

    return Remover(args.weights, device=args.device, threads=args.threads, tta=args.tta)


def run(args: argparse.Namespace) -> None:
    out = Path(args.output)
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"unsupported output extension {out.suffix!r}: use .png, .webp or .jpg")
    if not out.parent.is_dir():
        raise ConfigError(f"output folder does not exist: {out.parent}")
    remover = _make_remover(args)
    image = remover.load(args.image)
    alpha = remover.mask(image)
    if args.mask:
        data = encode_image(alpha_to_uint8(alpha), fmt, lossless=True, quality=95)
    else:
        opts = OutputOptions(
            cutout=fmt != "jpg", bg_color=args.bg_color if fmt == "jpg" else None,
            cutout_format=fmt if fmt != "jpg" else "png", composite_format="jpg",
            decontaminate=not args.no_decontaminate,
        )
        outputs = render_outputs(image.rgb, alpha, opts, image.icc_profile)
        data = outputs["composite" if fmt == "jpg" else "cutout"]
    write_atomic(out, data)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        run(args)
    except ImageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (BgRemoveError, OSError) as e:  # OSError: the output could not be written
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
