"""How fast the inspector answers, server-side, and how much figure data one screen sends.

    .venv/bin/python benchmarks/bench_inspector.py [repeats]

For full-size images of 64, 512 and 1024 pixels a side (ISBI slices from
``UNETVIZ_ISBI_DIR`` when it is set, synthetic micrographs otherwise), the
pretrained membrane model and the page driven by AppTest, it prints the median
time (of ``repeats``, default 3) of a re-run after each kind of change:
threshold, layer, page of channels, pixel, and a new image. AppTest re-runs the
whole script; in a browser the threshold, layer, channel and pixel widgets sit
in fragments and re-run only their own section, so these are upper bounds.
Then the pieces behind them, called directly. Prints; never asserts on a time.
"""

import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
MEMBRANE = ROOT / "pretrained" / "membrane.keras"
SIZES = (64, 512, 1024)


def images(n: int, count: int = 2) -> list[np.ndarray]:
    """``count`` different (n, n) uint8 grey images: ISBI slices, mirrored out past 512 if needed."""
    folder = os.environ.get("UNETVIZ_ISBI_DIR")
    out = []
    for i in range(count):
        if folder:
            from unetviz.data import read_isbi_folder

            a = read_isbi_folder(folder, [25 + i]).images[0]
        else:
            from unetviz.samples import membrane_pair

            a = membrane_pair(256, seed=i)[0]
        reps = -(-n // min(a.shape))
        a = np.pad(a, [(0, a.shape[0] * (reps - 1)), (0, a.shape[1] * (reps - 1))], mode="symmetric")
        out.append((a[:n, :n] * 255).astype(np.uint8))
    return out


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def timed(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def figure_bytes(at: AppTest) -> tuple[int, int, str]:
    """(all charts' bytes, the largest chart's bytes, its key) after the last run."""
    sizes = {el.key or el.proto.id: len(el.proto.spec) for el in at.get("plotly_chart")}
    key = max(sizes, key=sizes.get)
    return sum(sizes.values()), sizes[key], key


def check(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def page_reruns(n: int) -> None:
    a, b = images(n)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/inspector.py").run()
    at.radio(key="inspector_model").set_value("Pretrained: membrane").run()
    at.radio(key="inspector_input_kind").set_value("Image file (full size)").run()
    t0 = time.perf_counter()
    at.file_uploader(key="inspector_image_upload").set_value(("a.png", png(a), "image/png")).run()
    check(at)
    print(f"{n}x{n}: first image {time.perf_counter() - t0:.2f} s (prediction, activations, figures)")
    total, largest, key = figure_bytes(at)
    print(f"  figure data of the screen: {total / 1e6:.2f} MB in all, largest {largest / 1e6:.2f} MB "
          f"({key})")
    print(f"  re-run, nothing changed:  {timed(at.run):.3f} s")
    thresholds = iter([0.3, 0.7] * REPEATS)
    print(f"  re-run, threshold:        "
          f"{timed(lambda: at.slider(key='inspector_threshold').set_value(next(thresholds)).run()):.3f} s")
    layers = iter(["bottleneck_conv1", "dec1_concat", "enc2_conv2", "out"] * REPEATS)
    print(f"  re-run, layer:            "
          f"{timed(lambda: at.selectbox(key='inspector_layer').set_value(next(layers)).run()):.3f} s")
    at.selectbox(key="inspector_layer").set_value("dec1_concat").run()
    pages = iter([2, 1] * REPEATS)
    print(f"  re-run, page of channels: "
          f"{timed(lambda: at.slider(key='inspector_page_dec1_concat').set_value(next(pages)).run()):.3f} s")
    at.selectbox(key="inspector_layer").set_value("out").run()
    rows = iter(range(5, 5 + 7 * REPEATS * 2, 7))
    print(f"  re-run, pixel:            "
          f"{timed(lambda: at.number_input(key='inspector_rf_row').set_value(next(rows)).run()):.3f} s")
    uploads = iter([("b.png", b), ("a2.png", a)] * REPEATS)

    def new_image():
        name, im = next(uploads)
        at.file_uploader(key="inspector_image_upload").set_value((name, png(im), "image/png")).run()
    print(f"  re-run, another image:    {timed(new_image):.3f} s")
    total, largest, key = figure_bytes(at)
    print(f"  figure data after a pixel change: {total / 1e6:.2f} MB, largest {largest / 1e6:.2f} MB")
    check(at)


def pieces() -> None:
    from pages._inspect_grad import local_gradient
    from unetviz.inspection import Inspector
    from unetviz.model import load_model
    from unetviz.predict import predict_image

    ins = Inspector(load_model(MEMBRANE))
    x = images(512, 1)[0].astype(np.float32) / 255
    batch = x[None, :, :, None]
    ins.model(batch, training=False)
    big = np.pad(x, ((0, 512), (0, 512)), mode="symmetric")
    print("membrane model, one 512x512 window, called directly (the issue's floor for the forward "
          "pass on an idle machine: 0.175 s):")
    for label, fn in [("forward pass (model call)", lambda: ins.model(batch, training=False)),
                      ("every layer's activations (one call)",
                       lambda: ins.activation_model(batch, training=False)),
                      ("predict_image 512x512 (one pass)", lambda: predict_image(ins.model, x)),
                      ("predict_image 1024x1024 (one pass)", lambda: predict_image(ins.model, big))]:
        print(f"  {label + ':':<55} {timed(fn):.3f} s")
    rows = iter(range(100, 400, 3))

    def gradient(local: bool):
        r = next(rows)
        field = ins.receptive_field("out", r, 256, size=x.shape)
        if local:
            return local_gradient(ins, x, "out", r, 256, channel=0, field=field)
        return ins.input_gradient(x, "out", r, 256, channel=0)
    for label, local, repeats in [("one output pixel's input gradient, on its field's crop", True, REPEATS),
                                  ("the same on the whole window", False, 1)]:
        print(f"  {label + ':':<55} {timed(lambda local=local: gradient(local), repeats):.3f} s")


if __name__ == "__main__":
    print(f"machine load (1, 5, 15 min): {os.getloadavg()}")
    pieces()
    for size in SIZES:
        page_reruns(size)
    print(f"machine load (1, 5, 15 min): {os.getloadavg()}")
