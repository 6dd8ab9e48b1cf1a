"""unetviz.images: every format and depth we promise, and clear refusals."""

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from unetviz.images import ImageInputError, load_image


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


GRAD = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (8, 1))  # (8, 16)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP", "GIF"])
def test_lossless_8bit_formats(fmt):
    out = load_image(encode(Image.fromarray(GRAD), fmt))
    assert out.dtype == np.float32 and out.shape == (8, 16)
    np.testing.assert_allclose(out, GRAD / 255.0, atol=1e-6)


def test_jpeg_is_close():
    out = load_image(encode(Image.fromarray(GRAD), "JPEG", quality=95))
    assert np.abs(out - GRAD / 255.0).max() < 0.05


def test_16bit_png():
    a = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    out = load_image(encode(Image.fromarray(a), "PNG"))
    np.testing.assert_allclose(out, a / 65535.0, atol=1e-6)


def test_float_tiff_in_and_out_of_range():
    a = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(load_image(encode(Image.fromarray(a), "TIFF")), a, atol=1e-6)
    b = a * 1000 - 200
    np.testing.assert_allclose(load_image(encode(Image.fromarray(b), "TIFF")), a, atol=1e-5)


def test_nan_tiff_is_refused():
    a = np.full((4, 4), np.nan, dtype=np.float32)
    with pytest.raises(ImageInputError, match="not numbers"):
        load_image(encode(Image.fromarray(a), "TIFF"))


def test_rgb_rgba_palette_cmyk():
    rgb = Image.new("RGB", (4, 3), (255, 0, 0))
    assert load_image(encode(rgb, "PNG"))[0, 0] == pytest.approx(76 / 255, abs=0.01)
    rgba = Image.new("RGBA", (4, 3), (0, 0, 0, 0))  # fully transparent shows as white
    assert load_image(encode(rgba, "PNG")).min() == pytest.approx(1.0)
    pal = Image.fromarray(GRAD).convert("P")
    np.testing.assert_allclose(load_image(encode(pal, "PNG")), GRAD / 255.0, atol=0.02)
    cmyk = Image.new("CMYK", (4, 3), (0, 0, 0, 255))  # full black ink
    assert load_image(encode(cmyk, "JPEG")).max() < 0.1


def test_gif_first_frame():
    frames = [Image.new("L", (4, 4), 0), Image.new("L", (4, 4), 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    assert load_image(buf.getvalue()).max() == 0.0


def test_exif_orientation_is_applied():
    im = Image.fromarray(np.zeros((2, 6), np.uint8))  # 6 wide, 2 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    out = load_image(encode(im, "JPEG", exif=exif.tobytes()))
    assert out.shape == (6, 2)


def test_path_and_file_object(tmp_path):
    p = tmp_path / "x.png"
    Image.fromarray(GRAD).save(p)
    assert load_image(p).shape == (8, 16)
    assert load_image(str(p)).shape == (8, 16)
    with open(p, "rb") as fh:
        assert load_image(fh).shape == (8, 16)


@pytest.mark.parametrize("data,match", [
    (b"", "empty"),
    (b"hello, this is text", "not an image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "not an image"),
    (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not an image"),
])
def test_unusable_bytes(data, match):
    with pytest.raises(ImageInputError, match=match):
        load_image(data)


def test_truncated_png():
    data = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)), "PNG")
    with pytest.raises(ImageInputError, match="truncated|damaged"):
        load_image(data[: len(data) // 2])


def png_header_claiming(w: int, h: int) -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) \
        + chunk(b"IEND", b"")


def test_huge_header_is_refused_fast():
    t = time.perf_counter()
    with pytest.raises(ImageInputError, match="too large|limit"):
        load_image(png_header_claiming(100_000, 100_000))
    assert time.perf_counter() - t < 1.0  # refused from the header, never decoded


def test_real_12000_square_png_is_refused():
    data = encode(Image.new("L", (12000, 12000), 0), "PNG")
    with pytest.raises(ImageInputError, match="limit|too large"):
        load_image(data)


def test_missing_path(tmp_path):
    with pytest.raises(ImageInputError, match="no file"):
        load_image(tmp_path / "none.png")


def test_wrong_type():
    with pytest.raises(ImageInputError, match="Cannot read"):
        load_image(12345)


def test_colour_loading_refuses_the_hostile_corpus_too():
    from hostile_corpus import image_corpus

    for name, data in image_corpus():
        t = time.perf_counter()
        with pytest.raises(ImageInputError):
            load_image(data, channels=3)
        assert time.perf_counter() - t < 5.0, name


@pytest.mark.parametrize("mode,fill", [("L", 128), ("I;16", 32768), ("F", 0.5), ("LA", (128, 255)),
                                       ("P", 3), ("CMYK", (0, 0, 0, 0))])
def test_colour_loading_of_every_mode_matches_grey(mode, fill):
    im = Image.new(mode, (4, 3), fill)
    fmt = "TIFF" if mode in ("I;16", "F", "CMYK") else "PNG"
    rgb = load_image(encode(im, fmt), channels=3)
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.float32
    assert 0.0 <= rgb.min() and rgb.max() <= 1.0
    gray = load_image(encode(im, fmt))
    np.testing.assert_allclose(rgb @ np.array([0.299, 0.587, 0.114], np.float32), gray, atol=0.01)
