"""How fast the inspector answers: AppTest re-run times and the pieces behind them.

    .venv/bin/python benchmarks/bench_inspector.py [repeats]

Prints times (median of ``repeats``, default 5); never asserts on them. The
issue asks for re-runs under 1 s on the 2-core development machine.
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def timed(fn, repeats=REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def page_reruns(model: str, changes) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    t0 = time.perf_counter()
    at.switch_page("pages/inspector.py").run()
    at.radio(key="inspector_model").set_value(model).run()
    print(f"{model}: first open {time.perf_counter() - t0:.2f} s (loads TensorFlow and the model)")
    print(f"  re-run, nothing changed:   {timed(at.run):.3f} s")
    for label, key, kind, values in changes:
        turns = iter(values * REPEATS)

        def change(kind=kind, key=key, turns=turns):
            getattr(at, kind)(key=key).set_value(next(turns)).run()
        print(f"  re-run, {label:<18} {timed(change):.3f} s")
    assert not at.exception, [e.value for e in at.exception]


def pieces() -> None:
    from unetviz.inspect_figures import channel_tiling, channels_figure
    from unetviz.inspection import Inspector
    from unetviz.model import PRESETS, build_unet

    ins = Inspector(build_unet(PRESETS["seed-membrane"].replace(input_size=None)))
    x = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    ins.activations(x)
    outputs = ins.activation_model.outputs
    print(f"membrane architecture, one 64x64 input, {len(outputs)} layer outputs:")
    batch = x[None, :, :, None]
    print(f"  all activations, one direct call of the cached model: "
          f"{timed(lambda: ins.activation_model(batch, training=False)) * 1e3:.1f} ms")
    ins.activation_model.predict(batch, verbose=0)
    print(f"  the same through predict():                          "
          f"{timed(lambda: ins.activation_model.predict(batch, verbose=0)) * 1e3:.1f} ms")
    print(f"  Inspector.activations, same image again (remembered): "
          f"{timed(lambda: ins.activations(x)) * 1e3:.2f} ms")
    ins.input_gradient(x, "out", 32, 32)
    rows = iter(range(REPEATS))
    print(f"  gradient of one output pixel w.r.t. the input:       "
          f"{timed(lambda: ins.input_gradient(x, 'out', next(rows), 32)) * 1e3:.1f} ms")
    act = ins.activations(x)["bottleneck_conv1"]
    for shape in [(64, 64, 16), act.shape, (512, 512, 16)]:
        a = np.random.default_rng(0).random(shape).astype(np.float32)
        t = channel_tiling(shape)
        ms = timed(lambda a=a, t=t: channels_figure(a, t).to_json()) * 1e3
        size = len(channels_figure(a, t).to_json())
        print(f"  tiled view of {shape}: {t.count} channels per page, {t.pages} pages, "
              f"{size / 1e6:.2f} MB, built and serialised in {ms:.0f} ms")


if __name__ == "__main__":
    pieces()
    if (ROOT / "pretrained" / "membrane.keras").is_file():
        page_reruns("Pretrained: membrane", [
            ("layer changed:", "inspector_layer", "selectbox", ["bottleneck_conv1", "dec1_concat"]),
            ("threshold changed:", "inspector_threshold", "slider", [0.3, 0.7]),
            ("pixel changed:", "inspector_rf_row", "number_input", [10, 50]),
        ])
    page_reruns("Pretrained: inversion", [
        ("layer changed:", "inspector_layer", "selectbox", ["out", "dec1_concat"]),
        ("threshold changed:", "inspector_threshold", "slider", [0.3, 0.7]),
    ])
