"""A corpus of hostile files, made on the fly (nothing hostile is committed).

Each entry is ``(name, bytes)``; :func:`image_corpus` feeds image loaders,
:func:`model_corpus` feeds the model loader, :func:`zip_corpus` the zip loader.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))


def _encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def image_corpus() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(0)
    good = _encode(Image.fromarray(rng.integers(0, 255, (128, 128), np.uint8)), "PNG")
    return [
        ("empty.png", b""),
        ("random.png", rng.integers(0, 256, 8192, dtype=np.uint8).tobytes()),
        ("notes.txt", b"This is a text file, not an image.\n" * 20),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                        b'<rect width="10" height="10"/></svg>'),
        ("truncated.png", good[: len(good) // 2]),
        ("header-100000.png", png_claiming(100_000, 100_000)),
        ("real-12000.png", _encode(Image.new("L", (12_000, 12_000), 0), "PNG")),
        ("nan.tif", _encode(Image.fromarray(np.full((16, 16), np.nan, np.float32)), "TIFF")),
        ("inf.tif", _encode(Image.fromarray(np.full((16, 16), np.inf, np.float32)), "TIFF")),
    ]


def zip_bomb(members: int = 1, size: int = 2 * 1024**3) -> bytes:
    """A zip whose members each claim ``size`` bytes (written as a stream of zeros)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        chunk = b"\0" * (1024 * 1024)
        for i in range(members):
            with zf.open(f"image/{i}.png", "w", force_zip64=True) as fh:
                for _ in range(size // len(chunk)):
                    fh.write(chunk)
    return buf.getvalue()


def zip_with_names(names: list[str]) -> bytes:
    buf = io.BytesIO()
    png = _encode(Image.new("L", (8, 8), 0), "PNG")
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            zf.writestr(n, png)
    return buf.getvalue()


def zip_corpus() -> list[tuple[str, bytes]]:
    return [
        ("empty.zip", b""),
        ("not-a-zip.zip", b"PK but not really a zip"),
        ("traversal.zip", zip_with_names(["../../etc/evil.png", "image/0.png", "mask/0.png"])),
        ("absolute.zip", zip_with_names(["/tmp/evil.png", "mask/0.png"])),
        ("many-members.zip", zip_with_names([f"image/{i}.png" for i in range(20_000)])),
    ]


def keras_lambda_model() -> bytes:
    import tempfile
    from pathlib import Path

    import keras

    inp = keras.Input((8, 8, 1))
    out = keras.layers.Lambda(lambda t: t * 2)(inp)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "lambda.keras"
        keras.Model(inp, out).save(p)
        return p.read_bytes()


def keras_classifier() -> bytes:
    import tempfile
    from pathlib import Path

    import keras

    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(2)(keras.layers.Flatten()(inp))
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "classifier.keras"
        keras.Model(inp, out).save(p)
        return p.read_bytes()


def model_corpus() -> list[tuple[str, bytes]]:
    return [
        ("empty.keras", b""),
        ("random.keras", np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
        ("text.keras", b"model = evil()\n"),
        ("lambda.keras", keras_lambda_model()),
        ("classifier.keras", keras_classifier()),
    ]
