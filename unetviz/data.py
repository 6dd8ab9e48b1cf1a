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


def undihedral(a: np.ndarray, k: int) -> np.ndarray:
    """The inverse of :func:`dihedral`: ``undihedral(dihedral(a, k), k)`` equals ``a``.

    >>> a = np.arange(6).reshape(2, 3)
    >>> bool(all(np.array_equal(undihedral(dihedral(a, k), k), a) for k in range(8)))
    True
    """
    axes = (0, 1) if a.ndim == 2 else (a.ndim - 3, a.ndim - 2)
    a = np.rot90(a, -(k % 4), axes=axes)
    if k >= 4:
        a = np.swapaxes(a, *axes)
    return a


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


# --- Tiles, data sets for training, and uploads -------------------------------------------

# The tutorial's augmentations, in its order: each tile, then 3 rotations, then 3 mirrorings.
AUGMENTATIONS = ("original", "rotate 90", "rotate 180", "rotate 270", "transpose",
                 "flip left-right", "flip top-bottom")
MAX_ZIP_MEMBERS = 2_000  # files in an uploaded zip
MAX_ZIP_BYTES = 400 * 1024 * 1024  # declared uncompressed total of an uploaded zip
MAX_ZIP_RATIO = 200  # a member that unpacks to more than this many times its packed size is refused
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
IMAGE_DIRS = ("images", "image", "imgs")
MASK_DIRS = ("masks", "mask", "labels", "label")


def augment(tile: np.ndarray, k: int) -> np.ndarray:
    """Augmentation ``k`` (see :data:`AUGMENTATIONS`) of an (H, W) tile; a new array.

    Rotations are counter-clockwise, as Pillow's ``Image.rotate`` turns them.

    >>> augment(np.array([[1, 2], [3, 4]]), 1)
    array([[2, 4],
           [1, 3]])
    """
    a = np.asarray(tile)
    if a.ndim != 2:
        raise ValueError(f"augment works on (H, W) tiles; got shape {a.shape}.")
    if not 0 <= k < len(AUGMENTATIONS):
        raise ValueError(f"Augmentation k must be 0-{len(AUGMENTATIONS) - 1}; got {k}.")
    if k < 4:
        return np.rot90(a, k).copy()
    return {4: a.T, 5: a[:, ::-1], 6: a[::-1, :]}[k].copy()


def cut_tiles(images: np.ndarray, *, tile: int = 64) -> np.ndarray:
    """Cut (N, H, W) images into non-overlapping ``tile``-square pieces, row by row.

    Returns (N * (H // tile) * (W // tile), tile, tile); edges that do not fill
    a whole tile are dropped.

    >>> cut_tiles(np.zeros((2, 128, 96)), tile=32).shape
    (24, 32, 32)
    """
    a = np.asarray(images)
    n, h, w = a.shape
    if tile < 1 or tile > h or tile > w:
        raise DataError(f"Tiles of {tile}x{tile} do not fit images of {h}x{w}.")
    rows, cols = h // tile, w // tile
    a = a[:, :rows * tile, :cols * tile]
    a = a.reshape(n, rows, tile, cols, tile).transpose(0, 1, 3, 2, 4)  # (N, rows, cols, t, t)
    return a.reshape(n * rows * cols, tile, tile).copy()


def tutorial_tiles(images: np.ndarray, labels: np.ndarray, *, tile: int = 64, augmented: bool = True):
    """The tutorial's preparation: cut slices into tiles, add the 6 rotations/flips of each.

    ``images`` and ``labels`` are (N, H, W). Returns ``(x, y)``, each
    (T, tile, tile, 1) float32, with each tile followed by its augmentations in
    the order of :data:`AUGMENTATIONS` (7 per tile; 1 when ``augmented`` is False).
    30 slices of 512x512 give 30 x 64 x 7 = 13,440 tiles.

    >>> x, y = tutorial_tiles(np.zeros((1, 8, 8)), np.ones((1, 8, 8)), tile=4)
    >>> x.shape
    (28, 4, 4, 1)
    """
    if np.shape(images) != np.shape(labels):
        raise DataError(f"Images {np.shape(images)} and labels {np.shape(labels)} differ in shape.")
    ks = range(len(AUGMENTATIONS)) if augmented else range(1)
    out = []
    for stack in (images, labels):
        tiles = cut_tiles(np.asarray(stack, np.float32), tile=tile)
        aug = np.stack([np.stack([augment(t, k) for k in ks]) for t in tiles])  # (T, K, t, t)
        out.append(aug.reshape(-1, tile, tile, 1))
    return out[0], out[1]


@dataclass(frozen=True)
class TrainingData:
    """Inputs and targets for training and validation, each (N, H, W, 1) float32 in [0, 1]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    name: str  # what it is, in words
    kind: str  # "toy" (inversion) or "segmentation" (targets: 1 = cell, 0 = membrane)

    @property
    def tile(self) -> int:
        return int(self.x_train.shape[1])

    def describe(self) -> str:
        """One line for the page: counts and sizes."""
        t = self.tile
        return (f"{self.name}: {len(self.x_train):,} training and {len(self.x_val):,} validation "
                f"images of {t}x{t} pixels.")


def toy_data(*, n: int = 100, size: int = 8, seed: int = 0) -> TrainingData:
    """The tutorial's toy task: ``n`` random binary images to invert, plus 20 to validate.

    >>> toy_data(n=10, size=4).x_train.shape
    (10, 4, 4, 1)
    """
    x, y = toy_inversion(n, size, seed=seed)
    xv, yv = toy_inversion(20, size, seed=seed + 10_000)
    return TrainingData(x, y, xv, yv, f"Toy inversion ({n} random binary images)", "toy")


def membrane_data(*, n: int = 400, size: int = 64, seed: int = 0) -> TrainingData:
    """``n`` generated membrane images with exact masks (``unetviz.samples.membrane_pair``).

    A fifth as many again (at least 4), from other seeds, are kept for validation.

    >>> membrane_data(n=4, size=16).y_val.shape
    (4, 16, 16, 1)
    """
    from unetviz.samples import membrane_pair

    if n < 1 or size < 8:
        raise DataError("Generate at least one image of at least 8x8 pixels.")

    def make(seeds):
        pairs = [membrane_pair(size, seed=int(s)) for s in seeds]
        return (np.stack([p[0] for p in pairs])[..., None], np.stack([p[1] for p in pairs])[..., None])

    x, y = make(range(seed * 100_003, seed * 100_003 + n))
    start = seed * 100_003 + 50_000
    xv, yv = make(range(start, start + max(4, n // 5)))
    return TrainingData(x, y, xv, yv, f"Generated membranes ({n} images)", "segmentation")


def read_isbi_stack(volume, labels) -> IsbiData:
    """Read the official ``train-volume.tif`` / ``train-labels.tif`` multi-page TIFF stacks.

    ``volume`` and ``labels`` are paths or bytes; every page goes through
    :func:`unetviz.images.load_image`. Labels are binarised at 0.5.
    """
    return _stack_pair(_read_tiff_pages(volume, "volume"), _read_tiff_pages(labels, "labels"))


def _read_tiff_pages(source, what: str, max_pages: int = 1000) -> list[np.ndarray]:
    """Every page of a multi-page TIFF as (H, W) float32, through ``load_image``."""
    import io

    from PIL import Image, ImageSequence

    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    try:
        stack = Image.open(io.BytesIO(data), formats=["TIFF"])
        pages = []
        for i, page in enumerate(ImageSequence.Iterator(stack)):
            if i >= max_pages:
                raise DataError(f"The {what} stack has more than {max_pages} pages.")
            buf = io.BytesIO()
            page.save(buf, "TIFF")
            pages.append(load_image(buf.getvalue()))
    except DataError:
        raise
    except ImageInputError as exc:
        raise DataError(f"The {what} stack: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for bad files
        raise DataError(f"The {what} stack is not a TIFF we can read ({exc}).") from exc
    return pages


def _stack_pair(images: list, labels: list) -> IsbiData:
    if len(images) != len(labels):
        raise DataError(f"The volume has {len(images)} slices but the labels have {len(labels)}.")
    shapes = {a.shape for a in images + labels}
    if len(shapes) != 1:
        raise DataError(f"Slices differ in size: {sorted(shapes)}.")
    labs = [(lab >= 0.5).astype(np.float32) for lab in labels]
    return IsbiData(np.stack(images), np.stack(labs), tuple(range(len(images))))


def read_isbi(path) -> IsbiData:
    """An ISBI 2012 folder in either layout: PNG pairs (``train/image``, ``train/label``) or
    the official ``train-volume.tif`` and ``train-labels.tif`` stacks inside the folder."""
    root = Path(path).expanduser()
    if root.is_dir() and (root / "train-volume.tif").is_file():
        if not (root / "train-labels.tif").is_file():
            raise DataError(f"{root} has train-volume.tif but no train-labels.tif beside it.")
        return read_isbi_stack(root / "train-volume.tif", root / "train-labels.tif")
    return read_isbi_folder(root)


def isbi_data(path, *, tile: int = 64, held_out=HELD_OUT, max_tiles: int = 0,
              seed: int = 0) -> TrainingData:
    """ISBI slices prepared the tutorial's way for training; held-out slices for validation.

    Training slices are cut into ``tile`` tiles with their 7 rotations/flips; the
    held-out slices (25-29 by default) are cut into tiles without augmentation,
    so validation covers them whole. ``max_tiles`` > 0 keeps a random subset of
    the training tiles (to fit a CPU's patience).
    """
    data = read_isbi(path)
    held = [i for i, s in enumerate(data.indices) if s in set(held_out)]
    train = [i for i in range(len(data.indices)) if i not in held]
    if not train or not held:
        raise DataError(f"Need both training slices and held-out slices {tuple(held_out)}; "
                        f"found slices {data.indices}.")
    if max_tiles > 0:
        # Pick entries of the full augmented list, then make only those (small tiles are many).
        tx, ty = cut_tiles(data.images[train], tile=tile), cut_tiles(data.labels[train], tile=tile)
        k = len(AUGMENTATIONS)
        keep = np.sort(np.random.default_rng(seed).choice(len(tx) * k, min(max_tiles, len(tx) * k),
                                                          replace=False))
        x = np.stack([augment(tx[i // k], i % k) for i in keep])[..., None].astype(np.float32)
        y = np.stack([augment(ty[i // k], i % k) for i in keep])[..., None].astype(np.float32)
    else:
        x, y = tutorial_tiles(data.images[train], data.labels[train], tile=tile)
    xv, yv = tutorial_tiles(data.images[held], data.labels[held], tile=tile, augmented=False)
    name = (f"ISBI 2012 ({len(train)} slices x 7 rotations/flips; held out "
            f"{', '.join(str(data.indices[i]) for i in held)})")
    return TrainingData(x, y, xv, yv, name, "segmentation")


def _safe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return not (name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0])


def read_zip_pairs(data: bytes, *, max_members: int = MAX_ZIP_MEMBERS,
                   max_bytes: int = MAX_ZIP_BYTES) -> tuple[list, list, list[str]]:
    """Image/mask pairs from a zip: ``images/NAME.png`` with ``masks/NAME.png``.

    Folders may also be called ``image``/``label(s)``/``mask``; any image format
    :func:`unetviz.images.load_image` reads works, and pairs match by file name
    without extension. The zip is checked before anything is unpacked: member
    count, declared unpacked size, packing ratio, and names that would leave
    the folder (``../``, absolute paths) are refused. Returns ``(images,
    masks, names)``, each image (H, W) float32 and each mask binarised at 0.5.
    """
    import io
    import zipfile

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise DataError("This file is not a zip archive we can read.") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise DataError(f"The zip holds {len(infos):,} entries; the limit is {max_members:,}.")
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise DataError(f"The zip would unpack to {total / 1e6:,.0f} MB; the limit is "
                            f"{max_bytes / 1e6:,.0f} MB.")
        for info in infos:
            if not _safe_member(info.filename):
                raise DataError(f"The zip entry {info.filename!r} points outside the folder; "
                                "refusing the whole zip.")
            if info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1) and info.file_size > 1e6:
                raise DataError(f"The zip entry {info.filename!r} unpacks to "
                                f"{info.file_size / info.compress_size:,.0f} times its size: "
                                "a zip bomb, refused.")
        found: dict[str, dict[str, zipfile.ZipInfo]] = {"image": {}, "mask": {}}
        for info in infos:
            path = Path(info.filename.replace("\\", "/"))
            if info.is_dir() or path.name.startswith(".") or "__MACOSX" in path.parts:
                continue
            folder = path.parent.name.lower()
            role = "image" if folder in IMAGE_DIRS else "mask" if folder in MASK_DIRS else None
            if role is None:
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise DataError(f"{info.filename} is not an image file (use PNG, JPEG, TIFF, BMP "
                                "or GIF).")
            found[role][path.stem] = info
        if not found["image"]:
            raise DataError("The zip has no images/ folder with images in it. Put inputs in "
                            "images/ and masks with the same names in masks/.")
        missing = sorted(set(found["image"]) - set(found["mask"]))
        if missing:
            raise DataError(f"No mask for {len(missing)} image(s): {', '.join(missing[:5])}. "
                            "Each images/NAME needs a masks/NAME.")
        images, masks, names = [], [], []
        for stem in sorted(found["image"]):
            pair = []
            for role in ("image", "mask"):
                info = found[role][stem]
                with zf.open(info) as f:
                    raw = f.read(info.file_size + 1)
                if len(raw) > info.file_size:
                    raise DataError(f"{info.filename} is larger than the zip declares; refused.")
                try:
                    pair.append(load_image(raw))
                except ImageInputError as exc:
                    raise DataError(f"{info.filename}: {exc}") from exc
            if pair[0].shape != pair[1].shape:
                raise DataError(f"{stem}: the image is {pair[0].shape[1]}x{pair[0].shape[0]} but "
                                f"its mask is {pair[1].shape[1]}x{pair[1].shape[0]} pixels.")
            images.append(pair[0])
            masks.append((pair[1] >= 0.5).astype(np.float32))
            names.append(stem)
    return images, masks, names


def zip_data(data: bytes, *, tile: int = 64, augmented: bool = True) -> TrainingData:
    """Uploaded pairs (see :func:`read_zip_pairs`) cut into ``tile`` tiles.

    The last fifth of the pairs (at least one; with a single pair, its last
    fifth of tiles) is kept for validation, without augmentation.
    """
    images, masks, names = read_zip_pairs(data)
    small = [n for n, im in zip(names, images) if min(im.shape) < tile]
    if small:
        raise DataError(f"{', '.join(small[:5])}: smaller than the model's {tile}x{tile} input.")
    xs, ys = [], []
    for im, m in zip(images, masks):
        x, y = tutorial_tiles(im[None], m[None], tile=tile, augmented=False)
        xs.append(x)
        ys.append(y)
    if len(xs) == 1:
        cut = max(1, len(xs[0]) // 5)
        if len(xs[0]) < 2:
            raise DataError(f"One {tile}x{tile} tile is too little to train and validate on.")
        xv, yv, xs, ys = xs[0][-cut:], ys[0][-cut:], [xs[0][:-cut]], [ys[0][:-cut]]
    else:
        cut = max(1, len(xs) // 5)
        xv, yv = np.concatenate(xs[-cut:]), np.concatenate(ys[-cut:])
        xs, ys = xs[:-cut], ys[:-cut]
    x, y = np.concatenate(xs), np.concatenate(ys)
    if augmented:
        ks = range(len(AUGMENTATIONS))
        x = np.stack([augment(t[..., 0], k) for t in x for k in ks])[..., None]
        y = np.stack([augment(t[..., 0], k) for t in y for k in ks])[..., None]
    return TrainingData(x, y, xv, yv, f"Your upload ({len(names)} image/mask pairs)",
                        "segmentation")
