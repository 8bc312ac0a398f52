"""What a run writes for each image: the output options, their checks and the file names.

No pixels here, and no numpy, OpenCV or PIL: the batch driver, the planner and the CLI need
these before any image is read, and a run's parent process imports only them (its workers do
the pixels), so its worker pool starts ~0.1 s sooner and the parent stays small. Rendering the
outputs is compose.py; placing an object on a canvas is canvas.py.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from bgremove.errors import ConfigError

KINDS = ("cutout", "mask", "composite")
DEFAULT_FILL = 0.85
DEFAULT_MAX_UPSCALE = 2.0
MAX_SIDE = 16384
MAX_PIXELS = 64_000_000  # the default input limit: a canvas is never bigger than an input may be


@dataclass(frozen=True)
class OutputOptions:
    """What to write for each image.

    bg_color: when set, also write a composite on that colour ('#FFFFFF', 'FFFFFF', 'white',
        '255,255,255').
    crop: crop every output to the object's bounding box (near-zero alpha and specks ignored),
        grown by `margin`: an int is pixels, a string like '5%' is a percentage of the box's
        longer side.
    decontaminate: re-estimate the colour of semi-transparent edge pixels so the old background
        does not bleed into the cutout and composite (only pixels with 0 < alpha < 1 change).
    threshold: None keeps the soft alpha (minus the sigmoid's faint tails, see final_alpha); a
        value in (0, 1) makes alpha hard (alpha >= threshold).
    canvas: (width, height), or '2000' / '1600x1200': every output is the object's box scaled to
        span `fill` of the canvas and centred on it (canvas.py), enlarged at most `max_upscale`
        times; transparent around a cutout, `bg_color` around a composite.
    """

    cutout: bool = True
    mask: bool = False
    bg_color: str | None = None
    composite_format: str = "jpg"
    cutout_format: str = "png"
    crop: bool = False
    margin: int | str = 0
    png_compression: int = 1
    jpeg_quality: int = 95
    decontaminate: bool = True
    threshold: float | None = None
    canvas: tuple[int, int] | None = None
    fill: float = DEFAULT_FILL
    max_upscale: float = DEFAULT_MAX_UPSCALE

    def __post_init__(self) -> None:
        if self.canvas is not None:
            object.__setattr__(self, "canvas", parse_canvas(self.canvas))
            check_fit(self.fill, self.max_upscale)
            if margin_pixels(self.margin, 100, 100):
                raise ConfigError("--margin is for --crop; with --canvas, --fill sets the space "
                                  "around the object")
        if self.composite_format not in ("jpg", "webp", "png"):
            raise ConfigError(
                f"composite format must be jpg, webp or png: {self.composite_format!r}"
            )
        if self.cutout_format not in ("png", "webp"):
            raise ConfigError(f"cutout format must be png or webp: {self.cutout_format!r}")
        if self.bg_color is not None:
            from bgremove.imaging.colour import parse_color  # PIL's colour names: only here

            parse_color(self.bg_color)
        margin_pixels(self.margin, 100, 100)
        if not 0 <= self.png_compression <= 9:
            raise ConfigError(f"png compression must be 0..9: {self.png_compression}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg quality must be 1..100: {self.jpeg_quality}")
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold must be between 0 and 1: {self.threshold}")
        if not (self.cutout or self.mask or self.bg_color):
            raise ConfigError("nothing to write: ask for a cutout, a mask or a bg colour "
                              "(--cutout, --mask, --bg-color)")

    def key_parts(self) -> dict:
        """Every option that changes the bytes written (the manifest's key). Canvas options
        appear only with a canvas, so manifests written before they existed stay valid."""
        parts = asdict(self)
        if self.canvas is None:
            for name in ("canvas", "fill", "max_upscale"):
                del parts[name]
        return parts


def margin_pixels(margin: int | str, box_w: int, box_h: int) -> int:
    """A margin option in pixels: ints are pixels, 'N%' is N% of the box's longer side."""
    if isinstance(margin, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", margin)
        if m is None:
            if margin.strip().isdigit():
                return int(margin)
            raise ConfigError(f"margin must be pixels (20) or a percentage ('5%'): {margin!r}")
        return round(float(m.group(1)) / 100.0 * max(box_w, box_h))
    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise ConfigError(f"margin must be a non-negative number of pixels: {margin!r}")
    return margin


def output_names(stem: str, options: OutputOptions) -> dict[str, str]:
    """File names for the outputs `options` asks for, keyed by kind.

    cutout: `<stem>.png` (or `.webp`); mask: `<stem>.mask.png`; composite: `<stem>.<jpg|webp|png>`,
    or `<stem>.bg.<ext>` when a cutout with the same extension is written too.
    """
    names: dict[str, str] = {}
    if options.cutout:
        names["cutout"] = f"{stem}.{options.cutout_format}"
    if options.mask:
        names["mask"] = f"{stem}.mask.png"
    if options.bg_color is not None:
        ext = options.composite_format
        clash = names.get("cutout") == f"{stem}.{ext}"
        names["composite"] = f"{stem}.bg.{ext}" if clash else f"{stem}.{ext}"
    return names


def parse_canvas(value: str | int | tuple[int, int]) -> tuple[int, int]:
    """'2000' or 2000 -> (2000, 2000); '1600x1200' -> (1600, 1200) as (width, height)."""
    if isinstance(value, tuple | list):
        size = tuple(int(v) for v in value)
    elif isinstance(value, int) and not isinstance(value, bool):
        size = (value, value)
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", str(value))
        if m is None:
            raise ConfigError(f"canvas must be a side (2000) or WIDTHxHEIGHT (1600x1200): {value!r}")
        w = int(m.group(1))
        size = (w, int(m.group(2)) if m.group(2) else w)
    if len(size) != 2 or min(size) < 1 or max(size) > MAX_SIDE or size[0] * size[1] > MAX_PIXELS:
        raise ConfigError(f"canvas must be 1..{MAX_SIDE} pixels a side and at most "
                          f"{MAX_PIXELS:,} pixels: {value!r}")
    return size  # type: ignore[return-value]


def check_fit(fill: float, max_upscale: float) -> None:
    if not 0.0 < fill <= 1.0:
        raise ConfigError(f"--fill must be in (0, 1], the share of the canvas the object spans: {fill}")
    if not max_upscale >= 1.0:
        raise ConfigError(f"--max-upscale must be at least 1 (1: never enlarge): {max_upscale}")
