"""The options of one request: the same outputs as `bgremove run`, one output per answer.

RemoveParams is read from the query string (and, for multipart uploads, from form fields of the
same names) and becomes a Rendering: which output to answer with, the imaging OutputOptions that
make it (exactly as `bgremove run` makes its files) and the model's mode: test-time
augmentation, or the mirror for busy scenes.

Options that only shape the output pass through to OutputOptions under their own name
(PASSTHROUGH): a new rendering option of OutputOptions is served by adding a field of the same
name here and its name to PASSTHROUGH.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bgremove.errors import ConfigError
from bgremove.imaging.outputs import DEFAULT_FILL, DEFAULT_MAX_UPSCALE, OutputOptions
from bgremove.server.problems import Problem

FORMATS = {"cutout": ("png", "webp"), "mask": ("png",), "composite": ("jpg", "webp", "png")}
MEDIA_TYPES = {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}
PASSTHROUGH = ("bg_color", "crop", "threshold", "decontaminate", "png_compression", "jpeg_quality",
               "canvas", "fill", "max_upscale")


class RemoveParams(BaseModel):
    """Options of POST /remove (query string or form fields). Unknown names are refused."""

    model_config = ConfigDict(extra="forbid")

    output: Literal["cutout", "mask", "composite"] | None = Field(
        None, description="What to answer with: the RGBA cutout, the 8-bit alpha mask, or the "
        "object over bg_color. Default: composite when bg_color is given, else cutout.")
    format: Literal["png", "webp", "jpg"] | None = Field(
        None, description="cutout: png (default) or webp (lossless); mask: png; composite: jpg "
        "(default), webp or png.")
    bg_color: str | None = Field(
        None, description="Background colour of the composite: #FFFFFF, white or 255,255,255.")
    crop: bool = Field(False, description="Crop to the object's bounding box.")
    margin: str = Field("0", description="Margin around the crop: pixels (20) or percent of the "
                        "box's longer side (5%).")
    threshold: float | None = Field(None, description="Hard mask: alpha = (alpha >= threshold).")
    decontaminate: bool = Field(True, description="Remove the old background's colour from "
                                "semi-transparent edge pixels.")
    png_compression: int = Field(1, ge=0, le=9, description="PNG deflate level 0-9.")
    jpeg_quality: int = Field(95, ge=1, le=100, description="JPEG/WebP composite quality.")
    canvas: str | None = Field(
        None, description="Answer on a canvas of this size (2000 or 1600x1200), as run's "
        "--canvas: the object's box scaled to `fill` and centred.")
    fill: float = Field(DEFAULT_FILL, gt=0, le=1,
                        description="With canvas: the share of the canvas the object's box spans.")
    max_upscale: float = Field(DEFAULT_MAX_UPSCALE, gt=0, description="With canvas: enlarge at "
                               "most this much (header X-Bgremove-Flags: upscale_capped).")
    tta: bool = Field(False, description="Flip and multi-scale test-time augmentation "
                      "(better edges, about 5x the model time).")
    mirror: bool = Field(False, description="The mirror for busy scenes, as run's --mirror: a "
                         "photo whose backdrop is busy is also predicted as its mirror image and "
                         "the two averaged (one more model call for such photos only).")


@dataclass(frozen=True)
class Rendering:
    kind: str  # cutout, mask or composite: the one output in the answer
    output: OutputOptions  # asks for exactly that output
    tta: bool
    mirror: bool = False

    @property
    def mode(self) -> tuple[bool, bool]:
        """(tta, mirror): which of the server's Removers makes the mask. --tta's views mirror
        every photo already, so with it the mirror adds nothing (as in `bgremove run`)."""
        return self.tta, self.mirror and not self.tta

    @property
    def media_type(self) -> str:
        fmt = {"cutout": self.output.cutout_format, "mask": "png",
               "composite": self.output.composite_format}[self.kind]
        return MEDIA_TYPES[fmt]


def rendering(params: RemoveParams) -> Rendering:
    """The request's Rendering; a contradiction (a composite without a colour) is a 400."""
    kind = params.output or ("composite" if params.bg_color is not None else "cutout")
    fmt = params.format or FORMATS[kind][0]
    if fmt not in FORMATS[kind]:
        raise Problem("bad_option", f"format {fmt!r} is not available for output {kind!r} "
                      f"(choose from {', '.join(FORMATS[kind])})")
    if kind == "composite" and params.bg_color is None:
        raise Problem("bad_option", "output 'composite' needs bg_color")
    passed = {name: getattr(params, name) for name in PASSTHROUGH}
    if kind != "composite":
        passed["bg_color"] = None  # only the composite uses the colour
    margin = params.margin.strip()
    try:
        output = OutputOptions(
            cutout=kind == "cutout", mask=kind == "mask",
            cutout_format=fmt if kind == "cutout" else "png",
            composite_format=fmt if kind == "composite" else "jpg",
            margin=int(margin) if margin.isdigit() else margin, **passed)
    except (ConfigError, ValueError) as exc:  # a malformed canvas size is a ValueError too
        raise Problem("bad_option", str(exc)) from None
    return Rendering(kind, output, params.tta, params.mirror)


def merged(params: RemoveParams, form: dict[str, str]) -> RemoveParams:
    """The query's options plus a multipart upload's form fields; a name in both is refused."""
    if not form:
        return params
    given = params.model_dump(exclude_unset=True)
    twice = sorted(set(given) & set(form))
    if twice:
        raise Problem("bad_option", f"option given both in the query and the form: {', '.join(twice)}")
    try:
        return RemoveParams.model_validate({**given, **form})
    except ValueError as exc:  # pydantic's ValidationError
        raise Problem("bad_option", _first_line(exc)) from None


def _first_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc).splitlines()[0]
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                     if e["type"] != "extra_forbidden" else f"unknown option {e['loc'][-1]!r}"
                     for e in errors())
