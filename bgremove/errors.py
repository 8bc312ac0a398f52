"""The project's error types: the CLI turns each into a message and an exit code."""

from __future__ import annotations


class BgRemoveError(Exception):
    """Base class for every error bgremove raises on purpose."""


class ConfigError(BgRemoveError):
    """A usage or configuration problem (bad option, missing weights): exit code 2."""


class WeightsError(ConfigError):
    """A weights file that is missing, empty, corrupt or of an unknown kind."""


class MissingExtraError(ConfigError):
    """An optional dependency is not installed; the message carries the exact install line."""

    def __init__(self, package: str, extra: str, what: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{what} needs {package}, which is not installed. "
            f'Install it with: pip install "bgremove[{extra}]"'
        )


class ImageError(BgRemoveError):
    """One input image could not be used (unreadable, truncated, too large): the run skips it."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path) if path is not None else "<array>"
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageTooLargeError(ImageError):
    """An image over the pixel limit (max_pixels, the decompression-bomb guard): refused unread."""
