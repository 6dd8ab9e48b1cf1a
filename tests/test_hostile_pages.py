"""Every upload path in the app, fed the hostile corpus: a clear message, never an exception."""

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from apptest_support import open_page
from hostile_corpus import image_corpus, model_corpus, zip_bomb, zip_corpus


def errors(at: AppTest) -> str:
    assert not at.exception, [e.value for e in at.exception]
    return " ".join(e.value for e in at.error)


def test_hostile_images_through_the_shared_input():
    at = open_page("pages/convolution.py")
    at.radio(key="conv_source").set_value("Upload").run()
    for name, data in image_corpus():
        # The browser's picker only offers image extensions; the content is what is hostile.
        if not name.endswith((".png", ".tif")):
            name += ".png"
        at.file_uploader(key="conv_upload").upload(name, data, "image/png").run()
        assert name in errors(at), name


def test_hostile_models_through_the_inspector():
    at = open_page("pages/inspector.py")
    at.radio(key="inspector_model").set_value("Upload a .keras file").run()
    for name, data in model_corpus():
        at.file_uploader(key="inspector_model_upload").upload(name, data,
                                                              "application/octet-stream").run()
        assert name in errors(at), name  # the message names the file


def test_hostile_images_through_the_inspectors_full_size_input():
    at = open_page("pages/inspector.py")
    at.radio(key="inspector_input_kind").set_value("Image file (full size)").run()
    good = io.BytesIO()
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(good, format="PNG")
    for key in ("inspector_image_upload", "inspector_label_upload"):
        if key == "inspector_label_upload":  # a label is read once there is a good image
            at.file_uploader(key="inspector_image_upload").upload("good.png", good.getvalue(),
                                                                  "image/png").run()
        for name, data in image_corpus():
            if not name.endswith((".png", ".tif")):
                name += ".png"
            at.file_uploader(key=key).upload(name, data, "image/png").run()
            assert name in errors(at), (key, name)


def test_hostile_models_through_the_train_page_loader():
    at = open_page("pages/train.py")
    for name, data in model_corpus():
        at.file_uploader(key="train_load").upload(name, data, "application/octet-stream").run()
        assert errors(at), name


@pytest.mark.parametrize("name", [n for n, _ in zip_corpus() if n != "empty.zip"] + ["bomb.zip"])
def test_hostile_zips_through_the_train_page(name):
    data = dict(zip_corpus()).get(name) or zip_bomb(1, 1024**3)
    at = open_page("pages/train.py")
    at.radio(key="train_source").set_value("zip").run()
    at.file_uploader(key="train_zip").upload(name, data, "application/zip").run()
    assert errors(at), name
