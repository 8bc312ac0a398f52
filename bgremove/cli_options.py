"""The `bgremove` command's option types and checks (cli.py stays a list of commands).

Choices are Enums (typer lists their values as choices in every version the project allows);
values the library parses (colours, margins, canvases) are checked by the library's own parser
in a typer callback, so a bad one is refused as "Invalid value for '--option'" (exit code 2).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand

from bgremove.errors import ConfigError


def choices(name: str, *values: str) -> Any:
    # Enum, not Literal: typer lists an Enum's values as choices in every version we allow.
    return Enum(name, {v: v for v in values}, type=str)


CutoutFormat = choices("CutoutFormat", "png", "webp")
CompositeFormat = choices("CompositeFormat", "jpg", "webp", "png")
Device = choices("Device", "auto", "cpu", "cuda")
ProgressMode = choices("ProgressMode", "auto", "bar", "log", "quiet")
Backend = choices("Backend", "local", "ray")
StaleMode = choices("StaleMode", "keep", "list", "delete")
LogLevel = choices("LogLevel", "critical", "error", "warning", "info", "debug")

EXIT_FAILED = 1
EXIT_CONFIG = 2


def fail(exc: Exception) -> typer.Exit:
    """Our error type as a message on stderr and an exit code (2 for configuration errors)."""
    typer.secho(f"bgremove: error: {exc}", err=True, fg=typer.colors.RED)
    return typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED)


class PlainArguments(TyperCommand):
    """A command whose named arguments show as their names (`IN OUT_DIR`), not `{IN}` in the
    usage line and `IN <str>` in the list: their help says what they take."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument) and param.metavar is not None:
                name = param.metavar + ("..." if param.nargs != 1 and "..." not in param.metavar
                                        else "")
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
                param.get_usage_pieces = lambda ctx, name=name: [name]  # type: ignore[method-assign]


def checked(check):
    """A typer callback: the library's own check, its ConfigError turned into click's
    'Invalid value for --option' (exit code 2)."""
    def callback(value):
        if value is None:
            return value
        try:
            check(value)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None
        return value
    return callback


def check_color(text: str) -> None:
    from bgremove.imaging.colour import parse_color

    parse_color(text)


def check_margin(text: str) -> None:
    from bgremove.imaging.outputs import margin_pixels

    margin_pixels(margin_value(text), 100, 100)


def check_canvas(text: str) -> None:
    from bgremove.imaging.outputs import parse_canvas

    parse_canvas(text)


def check_unit(name: str, closed_top: bool = False):
    def check(value: float) -> None:
        if not (0.0 < value <= 1.0 if closed_top else 0.0 < value < 1.0):
            raise ConfigError(f"{name} must be between 0 and 1{' (1 included)' if closed_top else ''}:"
                              f" {value}")
    return check


def margin_value(text: str) -> int | str:
    # Pixels as an int; anything else ("5%", or a typo) goes to OutputOptions, which validates it.
    return int(text) if text.strip().isdigit() else text
