"""Turn whatever a person uploads into a float32 array in [0, 1], grayscale or RGB.

Every path by which an image enters the app goes through :func:`load_image`,
which refuses, with a message a person can act on, anything it cannot use.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # about 6300x6300; larger images are refused before decoding
MAX_BYTES = 50 * 1024 * 1024  # matches server.maxUploadSize in .streamlit/config.toml
FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "GIF")


class ImageInputError(ValueError):
    """An image that cannot be used, with the reason in words."""


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageInputError(f"There is no file at {path}.")
        if path.stat().st_size > MAX_BYTES:
            raise ImageInputError(
                f"The file is {path.stat().st_size / 1e6:.0f} MB; the limit is "
                f"{MAX_BYTES / 1e6:.0f} MB."
            )
        data = path.read_bytes()
    elif hasattr(source, "read"):
        data = source.read(MAX_BYTES + 1)
    else:
        raise ImageInputError(f"Cannot read an image from a {type(source).__name__}.")
    if len(data) > MAX_BYTES:
        raise ImageInputError(f"The file is over the {MAX_BYTES / 1e6:.0f} MB limit.")
    if not data:
        raise ImageInputError("The file is empty.")
    return data


def _to_gray(im: Image.Image) -> np.ndarray:
    """Decode ``im`` to (H, W) float32 in [0, 1], whatever its mode."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(im, dtype=np.float32) / 65535.0
    if mode == "I":
        a = np.asarray(im, dtype=np.float64)
        if a.size and a.min() >= 0 and a.max() <= 65535:
            return (a / (255.0 if a.max() <= 255 else 65535.0)).astype(np.float32)
        return _rescale(a)
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ImageInputError(
                "The image holds values that are not numbers (NaN or infinity); "
                "fix or replace them and upload it again."
            )
        if a.size and a.min() >= 0.0 and a.max() <= 1.0:
            return a.astype(np.float32)
        return _rescale(a)
    im = _on_white(im)
    if im.mode != "L":
        im = im.convert("RGB").convert("L")
    return np.asarray(im, dtype=np.float32) / 255.0


def _on_white(im: Image.Image) -> Image.Image:
    """``im`` with transparent areas shown on white, as an image viewer would."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba)
    return im


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Decode ``im`` to (H, W, 3) float32 RGB in [0, 1]; grey images get three equal channels."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F", "L", "1"):
        gray = _to_gray(im)  # (H, W)
        return np.repeat(gray[:, :, None], 3, axis=2)  # (H, W, 3)
    im = _on_white(im)
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def _rescale(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    if hi == lo:
        return np.zeros(a.shape, np.float32)
    return ((a - lo) / (hi - lo)).astype(np.float32)


def load_image(source, *, max_pixels: int = MAX_PIXELS, channels: int = 1) -> np.ndarray:
    """Load an image as a (H, W) float32 array in [0, 1], or (H, W, 3) RGB with ``channels=3``.

    ``source`` is bytes, a path, or a binary file object. PNG, JPEG, TIFF, BMP
    and GIF (first frame) are read; 8-bit, 16-bit and float data; grayscale,
    RGB(A), palette and CMYK. EXIF orientation is applied. Transparent areas
    show as white. With ``channels=3`` colour is kept and a grey image gets
    three equal channels. Anything unusable raises :class:`ImageInputError`.

    Examples
    --------
    >>> from PIL import Image; import io
    >>> buf = io.BytesIO(); Image.new("L", (3, 2), 255).save(buf, "PNG")
    >>> load_image(buf.getvalue()).shape
    (2, 3)
    >>> load_image(buf.getvalue(), channels=3).shape
    (2, 3, 3)
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), not {channels!r}.")
    data = _read_bytes(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            raise ImageInputError(
                "This file is not an image we can read. Use a PNG, JPEG, TIFF, BMP or GIF."
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageInputError("The image is far too large to open safely.") from None
        except Exception as exc:  # noqa: BLE001 - corrupt headers raise many kinds
            raise ImageInputError(f"The image header is damaged ({exc}).") from None
        w, h = im.size
        if w < 1 or h < 1:
            raise ImageInputError("The image has no pixels.")
        if w * h > max_pixels:
            raise ImageInputError(
                f"The image is {w}x{h} = {w * h / 1e6:.0f} million pixels; the limit is "
                f"{max_pixels / 1e6:.0f} million. Shrink it and upload it again."
            )
        try:
            im.seek(0)  # first frame of a GIF or multi-page TIFF
            im.load()
            im = ImageOps.exif_transpose(im)
            out = _to_gray(im) if channels == 1 else _to_rgb(im)
        except ImageInputError:
            raise
        except Exception as exc:  # noqa: BLE001 - truncated or corrupt pixel data
            raise ImageInputError(
                f"The image could not be decoded; the file may be truncated or damaged ({exc})."
            ) from None
    if not np.all(np.isfinite(out)):
        raise ImageInputError("The image holds values that are not numbers (NaN or infinity).")
    return np.clip(out, 0.0, 1.0)


def to_grid(image, n: int) -> np.ndarray:
    """Reduce an (H, W) image to an ``n x n`` grid by averaging (centre-cropped to a square).

    >>> to_grid(np.ones((10, 20)), 5).shape
    (5, 5)
    """
    a = np.asarray(image, dtype=np.float32)
    if a.ndim != 2 or a.size == 0:
        raise ImageInputError(f"Expected a 2D grayscale image; got shape {a.shape}.")
    if n < 1:
        raise ValueError("The grid needs at least one cell.")
    h, w = a.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = a[top:top + side, left:left + side]
    if side == n:
        return square.copy()
    im = Image.fromarray(square, mode="F")
    resample = Image.Resampling.BOX if side > n else Image.Resampling.NEAREST
    return np.clip(np.asarray(im.resize((n, n), resample), np.float32), 0.0, 1.0)


def rgba_to_gray(rgba) -> np.ndarray:
    """A canvas's (H, W, 4) uint8 RGBA pixels as (H, W) float32 brightness in [0, 1]."""
    a = np.asarray(rgba, dtype=np.float32)
    if a.ndim != 3 or a.shape[2] < 3:
        raise ImageInputError(f"Expected RGB(A) pixels; got shape {a.shape}.")
    rgb = a[:, :, :3] / 255.0
    if a.shape[2] == 4:
        alpha = a[:, :, 3:4] / 255.0
        rgb = rgb * alpha  # transparent canvas pixels count as the black background
    return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
