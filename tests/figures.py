"""What a figure check reads: the PNG decoded, not its size on disk."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image


def assert_figure(path: Path, *, min_pixels: int = 200) -> None:
    """``path`` (PNG) decodes to an RGB(A) image at least ``min_pixels`` wide and high, not of one colour, and its PDF
    twin starts as a PDF."""
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4), path
    assert min(image.shape[:2]) >= min_pixels, (path, image.shape)
    assert image[..., :3].std() > 0, f"{path} is blank"
    pdf = path.with_suffix(".pdf")
    assert not pdf.exists() or pdf.read_bytes()[:5] == b"%PDF-", pdf
