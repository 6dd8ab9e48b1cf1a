"""Data preparation: the tutorial's tiles and augmentations, data sets, and the zip loader."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from unetviz import data as D


def png(a, mode="L") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(a, np.uint8), mode).save(buf, "PNG")
    return buf.getvalue()


def make_zip(members: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    return buf.getvalue()


# --- augmentations, by hand ---------------------------------------------------------------

T = np.array([[1, 2, 3],
              [4, 5, 6]])


@pytest.mark.parametrize("k, expected", [
    (0, [[1, 2, 3], [4, 5, 6]]),
    (1, [[3, 6], [2, 5], [1, 4]]),  # 90 degrees counter-clockwise
    (2, [[6, 5, 4], [3, 2, 1]]),
    (3, [[4, 1], [5, 2], [6, 3]]),
    (4, [[1, 4], [2, 5], [3, 6]]),  # transpose
    (5, [[3, 2, 1], [6, 5, 4]]),  # left-right
    (6, [[4, 5, 6], [1, 2, 3]]),  # top-bottom
])
def test_each_augmentation_is_the_exact_rotation_or_flip(k, expected):
    np.testing.assert_array_equal(D.augment(T, k), expected)


@pytest.mark.parametrize("k, method", [(1, Image.Transpose.ROTATE_90), (2, Image.Transpose.ROTATE_180),
                                       (3, Image.Transpose.ROTATE_270), (4, Image.Transpose.TRANSPOSE),
                                       (5, Image.Transpose.FLIP_LEFT_RIGHT),
                                       (6, Image.Transpose.FLIP_TOP_BOTTOM)])
def test_augmentations_match_pillow_as_the_tutorial_used_it(k, method):
    a = np.random.default_rng(k).integers(0, 256, (6, 6)).astype(np.uint8)
    expected = np.asarray(Image.fromarray(a).transpose(method))
    np.testing.assert_array_equal(D.augment(a, k), expected)


def test_augment_refuses_bad_input_and_never_mutates():
    a = T.copy()
    D.augment(a, 5)[0, 0] = 99
    np.testing.assert_array_equal(a, T)
    with pytest.raises(ValueError, match="0-6"):
        D.augment(T, 7)


def test_cut_tiles_goes_row_by_row():
    a = np.arange(16).reshape(1, 4, 4)
    tiles = D.cut_tiles(a, tile=2)
    np.testing.assert_array_equal(tiles[0], [[0, 1], [4, 5]])
    np.testing.assert_array_equal(tiles[1], [[2, 3], [6, 7]])
    np.testing.assert_array_equal(tiles[3], [[10, 11], [14, 15]])
    with pytest.raises(D.DataError, match="do not fit"):
        D.cut_tiles(a, tile=5)


def test_tutorial_tiles_pair_every_tile_with_its_mask_the_same_way():
    rng = np.random.default_rng(0)
    im = rng.random((2, 8, 8)).astype(np.float32)
    lab = (rng.random((2, 8, 8)) > 0.5).astype(np.float32)
    x, y = D.tutorial_tiles(im, lab, tile=4)
    assert x.shape == y.shape == (2 * 4 * 7, 4, 4, 1)
    tiles_x, tiles_y = D.cut_tiles(im, tile=4), D.cut_tiles(lab, tile=4)
    for t in range(len(tiles_x)):
        for k in range(7):
            np.testing.assert_array_equal(x[t * 7 + k, ..., 0], D.augment(tiles_x[t], k))
            np.testing.assert_array_equal(y[t * 7 + k, ..., 0], D.augment(tiles_y[t], k))


def test_isbi_gives_13440_tiles_from_30_slices(isbi_dir):
    d = D.read_isbi(isbi_dir)
    assert d.images.shape == (30, 512, 512)
    x, y = D.tutorial_tiles(d.images, d.labels, tile=64)
    assert x.shape == y.shape == (13_440, 64, 64, 1)
    # Tile 9 of slice 0 is row 1, column 1; its flip left-right is entry 9 * 7 + 5.
    tile = d.images[0, 64:128, 64:128]
    np.testing.assert_array_equal(x[9 * 7, ..., 0], tile)
    np.testing.assert_array_equal(x[9 * 7 + 5, ..., 0], tile[:, ::-1])
    np.testing.assert_array_equal(y[9 * 7 + 2, ..., 0], np.rot90(d.labels[0, 64:128, 64:128], 2))
    assert set(np.unique(y)) <= {0.0, 1.0}


def test_isbi_data_holds_out_whole_slices(isbi_dir):
    td = D.isbi_data(isbi_dir, max_tiles=100, seed=3)
    assert td.x_train.shape == (100, 64, 64, 1)
    # The subset holds the same entries as the full tutorial list at the same random places.
    train = D.read_isbi_folder(isbi_dir, D.TRAIN_SLICES)
    x, y = D.tutorial_tiles(train.images, train.labels, tile=64)
    keep = np.sort(np.random.default_rng(3).choice(len(x), 100, replace=False))
    np.testing.assert_array_equal(td.x_train, x[keep])
    np.testing.assert_array_equal(td.y_train, y[keep])
    assert td.x_val.shape == (5 * 64, 64, 64, 1)  # slices 25-29, whole, no augmentation
    whole = D.read_isbi_folder(isbi_dir, [25]).images[0]
    np.testing.assert_array_equal(td.x_val[:64, ..., 0], D.cut_tiles(whole[None], tile=64))


def test_tiff_stacks_read_like_the_png_folder(tmp_path):
    rng = np.random.default_rng(1)
    vol = [rng.integers(0, 256, (16, 16)).astype(np.uint8) for _ in range(3)]
    lab = [np.where(v > 128, 255, 0).astype(np.uint8) for v in vol]
    for name, pages in (("train-volume.tif", vol), ("train-labels.tif", lab)):
        ims = [Image.fromarray(p) for p in pages]
        ims[0].save(tmp_path / name, save_all=True, append_images=ims[1:])
    d = D.read_isbi(tmp_path)
    assert d.images.shape == (3, 16, 16)
    np.testing.assert_allclose(d.images[2], vol[2] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(d.labels[1], lab[1] / 255)
    (tmp_path / "train-labels.tif").unlink()
    with pytest.raises(D.DataError, match="no train-labels.tif"):
        D.read_isbi(tmp_path)


def test_bad_folders_get_words():
    with pytest.raises(D.DataError, match="no folder"):
        D.isbi_data("/nonexistent/isbi")


def test_toy_and_generated_sets():
    toy = D.toy_data(n=10, size=8)
    assert toy.x_train.shape == (10, 8, 8, 1) and toy.x_val.shape == (20, 8, 8, 1)
    np.testing.assert_array_equal(toy.x_train + toy.y_train, 1.0)
    mem = D.membrane_data(n=5, size=32)
    assert mem.x_train.shape == (5, 32, 32, 1) and mem.y_val.shape == (4, 32, 32, 1)
    assert set(np.unique(mem.y_train)) == {0.0, 1.0}
    assert not np.array_equal(mem.x_train[0], mem.x_val[0])  # validation images are new ones
    assert "5 training and 4 validation images of 32x32" in mem.describe()


# --- the zip loader -------------------------------------------------------------------------

def good_zip(n=2, size=64):
    rng = np.random.default_rng(0)
    members = {}
    for i in range(n):
        members[f"images/{i}.png"] = png(rng.integers(0, 256, (size, size)))
        members[f"masks/{i}.png"] = png(np.where(rng.random((size, size)) > 0.5, 255, 0))
    return members


def test_zip_pairs_are_read_tiled_and_split():
    td = D.zip_data(make_zip(good_zip(3, 64)), tile=32)
    # 3 pairs of 64x64 -> 4 tiles each; the last pair validates, 2 pairs x 4 tiles x 7 train.
    assert td.x_train.shape == (2 * 4 * 7, 32, 32, 1) and td.x_val.shape == (4, 32, 32, 1)
    assert set(np.unique(td.y_train)) <= {0.0, 1.0}


def test_zip_bomb_is_refused_by_its_declared_size_before_unpacking():
    bomb = make_zip({"images/a.png": b"\0" * 20_000_000})
    with pytest.raises(D.DataError, match="zip bomb"):
        D.read_zip_pairs(bomb)
    with pytest.raises(D.DataError, match="unpack to"):
        D.read_zip_pairs(make_zip(good_zip(1)), max_bytes=1000)


def test_zip_with_too_many_members_is_refused():
    many = make_zip({f"images/{i}.png": b"x" for i in range(30)})
    with pytest.raises(D.DataError, match="30 entries; the limit is 20"):
        D.read_zip_pairs(many, max_members=20)


@pytest.mark.parametrize("name", ["../evil.png", "images/../../evil.png", "/etc/images/x.png",
                                  "..\\images\\x.png", "C:/images/x.png"])
def test_path_traversal_names_are_refused(name):
    members = good_zip(1)
    members[name] = png(np.zeros((4, 4)))
    with pytest.raises(D.DataError, match="outside the folder"):
        D.read_zip_pairs(make_zip(members))


def test_non_images_missing_masks_and_mismatched_sizes_get_words():
    m = good_zip(1)
    m["images/notes.txt"] = b"hello"
    with pytest.raises(D.DataError, match="not an image file"):
        D.read_zip_pairs(make_zip(m))
    m = good_zip(1)
    m["images/fake.png"] = b"this is no png"
    m["masks/fake.png"] = png(np.zeros((64, 64)))
    with pytest.raises(D.DataError, match="fake.png: This file is not an image"):
        D.read_zip_pairs(make_zip(m))
    m = good_zip(2)
    del m["masks/1.png"]
    with pytest.raises(D.DataError, match="No mask for 1 image"):
        D.read_zip_pairs(make_zip(m))
    m = good_zip(1)
    m["masks/0.png"] = png(np.zeros((32, 48)))
    with pytest.raises(D.DataError, match="image is 64x64 but its mask is 48x32"):
        D.read_zip_pairs(make_zip(m))
    with pytest.raises(D.DataError, match="no images/ folder"):
        D.read_zip_pairs(make_zip({"readme.md": b"hi"}))
    with pytest.raises(D.DataError, match="smaller than the model"):
        D.zip_data(make_zip(good_zip(2, 16)), tile=32)
    with pytest.raises(D.DataError, match="not a zip"):
        D.zip_data(b"not a zip at all")
