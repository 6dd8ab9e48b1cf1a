"""Hostile files get a clear message every time: never a traceback, a hang or a memory blow-up."""

import resource
import time
import tomllib
from pathlib import Path

import pytest

from hostile_corpus import image_corpus, model_corpus, zip_bomb, zip_corpus
from unetviz.images import MAX_BYTES, ImageInputError, load_image

ROOT = Path(__file__).resolve().parent.parent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("name,data", image_corpus(), ids=[n for n, _ in image_corpus()])
def test_hostile_images_are_refused_with_a_message(name, data):
    before = peak_rss_mb()
    t = time.perf_counter()
    with pytest.raises(ImageInputError) as info:
        load_image(data)
    assert time.perf_counter() - t < 5.0, "took too long: it must be refused, not decoded"
    assert peak_rss_mb() - before < 500, "memory grew: the file was decoded"
    msg = str(info.value)
    assert len(msg) > 15 and "Traceback" not in msg


@pytest.mark.parametrize("name", [n for n, _ in model_corpus()])
def test_hostile_models_are_refused_with_a_message(name):
    from unetviz.model import ModelLoadError, load_model

    data = dict(model_corpus())[name]
    with pytest.raises(ModelLoadError) as info:
        load_model(data)
    assert len(str(info.value)) > 15


def test_upload_limit_is_set_in_config_and_code():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_BYTES
    with pytest.raises(ImageInputError, match="limit"):
        load_image(b"\0" * (MAX_BYTES + 1))


@pytest.mark.parametrize("name", [n for n, _ in zip_corpus()] + ["bomb.zip", "many-bombs.zip"])
def test_hostile_zips_are_refused_before_unpacking(name):
    from unetviz.data import DataError, read_zip_pairs

    data = dict(zip_corpus()).get(name)
    if data is None:
        data = zip_bomb(1, 1024**3) if name == "bomb.zip" else zip_bomb(3, 300 * 1024**2)
    before = peak_rss_mb()
    t = time.perf_counter()
    with pytest.raises(DataError) as info:
        read_zip_pairs(data)
    assert time.perf_counter() - t < 5.0
    assert peak_rss_mb() - before < 300
    assert len(str(info.value)) > 15
