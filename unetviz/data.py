"""Data sets: the tutorial's toy inversion task, and ISBI 2012 membrane folders.

Arrays are float32 in [0, 1] with shape (N, H, W, 1). Membrane labels follow
the data set: 0 = membrane (black), 1 = cell interior (white).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unetviz.images import ImageInputError, load_image

HELD_OUT = (25, 26, 27, 28, 29)  # ISBI train slices kept for evaluation
TRAIN_SLICES = tuple(range(25))


class DataError(ValueError):
    """A data folder or file that cannot be used, with the reason in words."""


def toy_inversion(n: int = 100, size: int = 8, seed: int = 0):
    """The tutorial's toy task: random binary images and their inversions.

    Returns ``(x, y)``, each (n, size, size, 1) float32 with ``y = 1 - x``.

    >>> x, y = toy_inversion(3, 4)
    >>> bool(np.all(x + y == 1))
    True
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n, size, size, 1)).astype(np.float32)
    return x, 1.0 - x


@dataclass(frozen=True)
class IsbiData:
    """Slices of an ISBI-layout folder: ``images`` and ``labels`` (N, H, W) float32."""

    images: np.ndarray
    labels: np.ndarray
    indices: tuple[int, ...]


def read_isbi_folder(folder, indices=None) -> IsbiData:
    """Read ``train/image/N.png`` and ``train/label/N.png`` pairs from ``folder``.

    ``indices`` picks slices (default: every pair found, sorted by number).
    Labels are binarised at 0.5 (0 = membrane, 1 = cell).
    """
    root = Path(folder).expanduser()
    img_dir, lab_dir = root / "train" / "image", root / "train" / "label"
    if not root.is_dir():
        raise DataError(f"There is no folder at {root}.")
    if not img_dir.is_dir() or not lab_dir.is_dir():
        raise DataError(
            f"{root} does not have the ISBI layout: expected train/image/N.png and "
            "train/label/N.png inside it."
        )
    found = sorted(int(p.stem) for p in img_dir.glob("*.png") if p.stem.isdigit())
    if indices is None:
        indices = found
    missing = [i for i in indices if i not in found or not (lab_dir / f"{i}.png").is_file()]
    if missing:
        raise DataError(f"Slices {missing} have no image/label pair in {root}.")
    if not indices:
        raise DataError(f"No image/label pairs found in {root}.")
    images, labels = [], []
    for i in indices:
        try:
            im = load_image(img_dir / f"{i}.png")
            lab = load_image(lab_dir / f"{i}.png")
        except ImageInputError as exc:
            raise DataError(f"Slice {i}: {exc}") from exc
        if im.shape != lab.shape:
            raise DataError(f"Slice {i}: image {im.shape} and label {lab.shape} differ in size.")
        images.append(im)
        labels.append((lab >= 0.5).astype(np.float32))
    shapes = {a.shape for a in images}
    if len(shapes) != 1:
        raise DataError(f"Slices differ in size: {sorted(shapes)}.")
    return IsbiData(np.stack(images), np.stack(labels), tuple(indices))


def dihedral(a: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 exact rotations/flips of the last two spatial axes.

    ``k`` 0-3 rotates by k x 90 degrees; 4-7 transposes first, then rotates.
    ``a`` is (H, W) or (..., H, W, C) with the spatial axes at -3, -2 when 3D+.
    """
    axes = (0, 1) if a.ndim == 2 else (a.ndim - 3, a.ndim - 2)
    if k >= 4:
        a = np.swapaxes(a, *axes)
    return np.rot90(a, k % 4, axes=axes)


def random_crops(images, labels, n: int, size: int, rng: np.random.Generator):
    """``n`` random ``size``-square crops with a random dihedral transform each.

    ``images``/``labels`` are (N, H, W); returns two (n, size, size, 1) arrays.
    """
    N, H, W = images.shape
    if size > H or size > W:
        raise DataError(f"Crops of {size} do not fit slices of {H}x{W}.")
    x = np.empty((n, size, size, 1), np.float32)
    y = np.empty((n, size, size, 1), np.float32)
    for j in range(n):
        s = rng.integers(N)
        r, c = rng.integers(H - size + 1), rng.integers(W - size + 1)
        k = int(rng.integers(8))
        x[j, ..., 0] = dihedral(images[s, r:r + size, c:c + size], k)
        y[j, ..., 0] = dihedral(labels[s, r:r + size, c:c + size], k)
    return x, y
