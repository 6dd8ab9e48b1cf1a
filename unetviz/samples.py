"""Sample images drawn by code, so the app needs no downloads.

All functions return float32 arrays in [0, 1] of shape (size, size).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

SAMPLES = ("shapes", "edges", "letter", "membrane", "checkerboard", "gradient")


def _canvas(size: int):
    im = Image.new("L", (size, size), 0)
    return im, ImageDraw.Draw(im)


def shapes(size: int = 32) -> np.ndarray:
    """A filled square, a ring and a bar: flat regions with edges in every direction."""
    im, d = _canvas(size * 4)
    s = size * 4
    d.rectangle([s * 0.08, s * 0.1, s * 0.42, s * 0.44], fill=255)
    d.ellipse([s * 0.52, s * 0.08, s * 0.92, s * 0.48], outline=255, width=max(2, s // 16))
    d.polygon([(s * 0.1, s * 0.9), (s * 0.5, s * 0.55), (s * 0.9, s * 0.9)], fill=170)
    return _shrink(im, size)


def edges(size: int = 32) -> np.ndarray:
    """Thick horizontal and diagonal bands and a one-pixel line, like the tutorial's edge image."""
    a = np.zeros((size, size), np.float32)
    a[size // 5: size // 5 + max(2, size // 8), 2:-2] = 1.0
    r, c = np.mgrid[0:size, 0:size]
    a[np.abs(r - c - size // 6) <= max(1, size // 16)] = 1.0
    a[(size * 3) // 4, : size // 2] = 1.0  # a single-pixel line
    return a


def letter(size: int = 32, text: str = "U") -> np.ndarray:
    """A letter drawn with Pillow's built-in font."""
    im, d = _canvas(size * 4)
    try:
        font = ImageFont.load_default(size=int(size * 3.2))
    except TypeError:  # older Pillow: fixed-size bitmap font
        font = ImageFont.load_default()
    box = d.textbbox((0, 0), text, font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    d.text(((size * 4 - w) / 2 - box[0], (size * 4 - h) / 2 - box[1]), text, fill=255, font=font)
    return _shrink(im, size)


def checkerboard(size: int = 32, square: int = 4) -> np.ndarray:
    r, c = np.mgrid[0:size, 0:size]
    return (((r // square) + (c // square)) % 2).astype(np.float32)


def gradient(size: int = 32) -> np.ndarray:
    return np.tile(np.linspace(0, 1, size, dtype=np.float32), (size, 1))


def membrane_pair(size: int = 64, seed: int = 0, cells: int | None = None,
                  noise: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """A membrane-like EM image and its exact mask (1 = cell, 0 = membrane).

    Cells are the Voronoi regions of random points; membranes are their
    borders, thickened, darkened, blurred and speckled like a micrograph.
    """
    rng = np.random.default_rng(seed)
    n = cells or max(4, int(size * size / 180))
    pts = rng.uniform(0, size, size=(n, 2))
    r, c = np.mgrid[0:size, 0:size]
    d = (r[..., None] - pts[:, 0]) ** 2 + (c[..., None] - pts[:, 1]) ** 2  # (size, size, n)
    label = d.argmin(axis=-1)
    border = np.zeros((size, size), bool)
    border[:-1] |= label[:-1] != label[1:]
    border[:, :-1] |= label[:, :-1] != label[:, 1:]
    border = ndi.binary_dilation(border, iterations=1 if size <= 64 else 2)
    mask = (~border).astype(np.float32)
    # Cell interiors get their own grey level and some organelle-like blobs.
    shade = rng.uniform(0.55, 0.85, n)[label]
    blobs = ndi.gaussian_filter(rng.normal(size=(size, size)), 2.0)
    img = shade + 0.25 * blobs / (np.abs(blobs).max() + 1e-6)
    img = np.where(border, rng.uniform(0.05, 0.2), img)
    img = ndi.gaussian_filter(img, 0.8) + rng.normal(0, noise, (size, size))
    return np.clip(img, 0, 1).astype(np.float32), mask


def membrane(size: int = 64, seed: int = 0) -> np.ndarray:
    return membrane_pair(size, seed)[0]


def sample_image(name: str, size: int = 32, seed: int = 0) -> np.ndarray:
    """One of :data:`SAMPLES` at ``size`` x ``size``."""
    if size < 3:
        raise ValueError("Samples are at least 3x3 pixels.")
    table = {"shapes": shapes, "edges": edges, "letter": letter, "checkerboard": checkerboard,
             "gradient": gradient, "membrane": lambda s: membrane(s, seed)}
    if name not in table:
        raise ValueError(f"Unknown sample {name!r}; choose from {', '.join(SAMPLES)}.")
    return table[name](size)


def _shrink(im: Image.Image, size: int) -> np.ndarray:
    return np.asarray(im.resize((size, size), Image.Resampling.BOX), np.float32) / 255.0
