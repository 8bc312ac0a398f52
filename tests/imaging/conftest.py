"""Fixtures for the image-file tests."""

from __future__ import annotations

import pytest
from PIL import ImageCms


@pytest.fixture(scope="session")
def srgb_icc() -> bytes:
    """A real sRGB ICC profile, as cameras and editors embed it."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
