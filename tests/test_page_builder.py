"""AppTests for the Build a U-Net page: presets, controls, the table, formulas, explanations."""

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from unetviz.config import PRESETS

PAGE = "pages/builder.py"


@pytest.fixture
def at() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def total(at: AppTest) -> str:
    return at.metric[0].value


def table(at: AppTest) -> dict:
    df = at.dataframe[0].value
    rows = {}
    for _, row in df.iterrows():
        name, kind = row["Layer (type)"][:-1].split(" (")
        rows[name] = (kind, row["Output shape"], row["Param #"], row["Connected to"])
    return rows


def test_starts_on_the_tutorials_first_model(at):
    assert at.title[0].value == "Build a U-Net"
    assert total(at) == "348"
    assert at.session_state["unet_config"] == PRESETS["seed-simple"]
    assert any("seed-simple" in s.value for s in at.success)
    rows = table(at)
    assert list(rows) == ["input", "enc1_conv1", "enc1_conv2", "enc1_pool", "bottleneck_conv1",
                          "bottleneck_conv2", "dec1_up", "dec1_upconv", "dec1_concat", "dec1_conv1",
                          "out"]
    assert rows["enc1_conv2"] == ("Conv2D", "(None, 8, 8, 2)", 38, "enc1_conv1")
    assert rows["dec1_concat"] == ("Concatenate", "(None, 8, 8, 4)", 0, "enc1_conv2, dec1_upconv")
    assert any("Total params: 348" in m.value for m in at.markdown)


def test_membrane_preset_sets_the_controls_and_gives_1170149(at):
    at.button(key="builder_preset_seed-membrane").click().run()
    assert not at.exception
    assert total(at) == "1,170,149"
    assert at.session_state["unet_config"] == PRESETS["seed-membrane"]
    assert at.number_input(key="builder_input_size").value == 64
    assert at.slider(key="builder_depth").value == 3
    assert at.number_input(key="builder_first_filters").value == 16
    assert at.selectbox(key="builder_growth").value == "x2"
    assert [at.selectbox(key=f"builder_kernel{i}").value for i in range(4)] == [3, 3, 5, 5]
    rows = table(at)
    assert rows["enc3_conv1"] == ("Conv2D", "(None, 16, 16, 64)", 51_264, "enc2_pool")
    assert rows["dec3_upconv"] == ("Conv2D", "(None, 16, 16, 64)", 32_832, "dec3_up")
    assert rows["head_conv"][2] == 290 and rows["out"][2] == 3
    # Back to the small one: the controls follow the preset again.
    at.button(key="builder_preset_seed-simple").click().run()
    assert total(at) == "348"
    assert at.slider(key="builder_depth").value == 1
    assert at.selectbox(key="builder_growth").value == "+1"


def test_deeper_u_worked_by_hand(at):
    # Depth 2 on 8x8, filters 2, 3, 4 (+1), 3x3 kernels, 3x3 up-convs, one conv per decoder block:
    # 20 + 38 + 57 + 84 + (4x27+4 = 112) + (4x36+4 = 148) + (3x36+3 = 111) + (3x54+3 = 165)
    # + 56 + 74 + 19 = 884.
    at.slider(key="builder_depth").set_value(2).run()
    assert total(at) == "884"
    assert table(at)["bottleneck_conv2"] == ("Conv2D", "(None, 2, 2, 4)", 148, "bottleneck_conv1")
    assert at.session_state["unet_config"].filters == (2, 3, 4)
    assert not at.success  # no longer a preset
    # A 5x5 kernel at the new bottom: 4x(25x3)+4 = 304 and 4x(25x4)+4 = 404 replace 112 and 148.
    at.selectbox(key="builder_kernel2").set_value(5).run()
    assert total(at) == f"{884 - 112 - 148 + 304 + 404:,}"


def test_filters_and_kernels_worked_by_hand(at):
    # Level-1 kernel 5x5: enc1 convs 2x25+2 = 52 and 2x50+2 = 102, dec1_conv1 2x100+2 = 202
    # instead of 20, 38 and 74.
    at.selectbox(key="builder_kernel0").set_value(5).run()
    assert total(at) == f"{348 - 20 - 38 - 74 + 52 + 102 + 202:,}"
    at.selectbox(key="builder_kernel0").set_value(3).run()
    # Four filters at level 1 (then five): 40 + 148 + 185 + 230 + 184 + 292 + 37 = 1,116.
    at.number_input(key="builder_first_filters").set_value(4).run()
    assert total(at) == "1,116"
    # Doubling instead of +1 gives 8 at the bottom: 40 + 148 + (8x36+8 = 296) + (8x72+8 = 584)
    # + (up-conv 4x72+4 = 292) + (after the 4+4 concat 4x72+4 = 292) + 37 = 1,689.
    at.selectbox(key="builder_growth").set_value("x2").run()
    assert total(at) == "1,689"


def test_skips_transpose_and_batch_norm(at):
    at.toggle(key="builder_skips").set_value(False).run()
    assert total(at) == "312"  # dec1_conv1 sees 2 channels, not 4: 38 instead of 74
    assert "dec1_concat" not in table(at)
    at.toggle(key="builder_skips").set_value(True).run()
    at.radio(key="builder_upsampling").set_value("transpose").run()
    assert table(at)["dec1_up"] == ("Conv2DTranspose", "(None, 8, 8, 2)", 56, "bottleneck_conv2")
    assert total(at) == "348"  # the transposed 3x3 conv has the up-convolution's 56 parameters
    at.radio(key="builder_upsampling").set_value("upsample_conv").run()
    at.toggle(key="builder_batch_norm").set_value(True).run()
    assert total(at) == "390"
    assert any("(trainable 362, non-trainable 28)" in m.value for m in at.markdown)
    assert table(at)["enc1_conv1_bn"][2] == 8


def test_layer_formula_and_explanation(at):
    assert at.latex[0].value.strip("$\n").endswith("= 20")
    at.selectbox(key="builder_layer").set_value("dec1_conv1").run()
    tex = at.latex[0].value
    assert r"\underbrace{4}_{\text{channels in}}" in tex and tex.strip("$\n").endswith("= 74")
    assert any("3x3x4 = 36 weights" in m.value for m in at.markdown)
    at.selectbox(key="builder_layer").set_value("enc1_pool").run()
    assert not at.latex
    assert any("no parameters" in m.value for m in at.markdown)
    assert any("8x8 becomes 4x4" in m.value for m in at.markdown)


def test_impossible_input_is_explained_and_the_last_good_model_kept(at):
    at.button(key="builder_preset_seed-membrane").click().run()
    at.number_input(key="builder_input_size").set_value(60).run()
    assert not at.exception
    message = at.error[0].value
    assert "cannot be pooled 3 times" in message and "Try 56 or 64" in message
    assert at.session_state["unet_config"] == PRESETS["seed-membrane"]
    assert any("last U-Net that worked: 1,170,149 parameters for 64x64" in i.value for i in at.info)
    assert not at.dataframe  # nothing half-drawn
    at.number_input(key="builder_input_size").set_value(56).run()
    assert not at.error and table(at)["bottleneck_conv2"][1] == "(None, 7, 7, 128)"
    assert total(at) == "1,170,149"  # convolutions do not care about the image size


def test_a_big_model_gets_a_warning(at):
    at.button(key="builder_preset_seed-membrane").click().run()
    assert not at.warning
    at.slider(key="builder_depth").set_value(5).run()
    # Filters 16..512, kernels 3, 3, 5, 5, 5, 5; Keras' count_params() gives the same number.
    assert total(at) == "20,260,197" and "slowly" in at.warning[0].value


def test_too_deep_for_the_input(at):
    at.slider(key="builder_depth").set_value(4).run()
    assert "8 -> 4 -> 2 -> 1 -> 0" in at.error[0].value


def test_controls_survive_a_trip_to_another_page(at):
    at.slider(key="builder_depth").set_value(2).run()
    at.selectbox(key="builder_kernel2").set_value(5).run()
    at.slider(key="builder_depth").set_value(1).run()  # hides the bottom-kernel control
    at.switch_page("pages/skips.py").run()
    at.switch_page(PAGE).run()
    assert at.slider(key="builder_depth").value == 1 and total(at) == "348"
    at.slider(key="builder_depth").set_value(2).run()
    assert at.selectbox(key="builder_kernel2").value == 5


def test_the_page_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('../app.py', default_timeout=60)\n"
        "at.run()\n"
        f"at.switch_page('{PAGE}').run()\n"
        "assert not at.exception and at.metric[0].value == '348'\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent)
    assert out.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------- the U diagram the page draws


@pytest.mark.parametrize("depth", range(0, 6))
def test_diagram_reads_for_every_depth(depth):
    from unetviz.config import builder_config, builder_controls, layer_specs
    from unetviz.figures import unet_diagram

    cfg = builder_config(**builder_controls(PRESETS["seed-membrane"]) | {"depth": depth,
                                                                         "input_size": 64})
    specs = layer_specs(cfg)
    fig = unet_diagram(specs, highlight="out")
    bars = [t for t in fig.data if t.type == "bar"]
    assert sum(len(b.x) for b in bars) == len(specs)  # one box per layer (no batch norm here)
    assert all(b.x.dtype == b.y.dtype == b.width.dtype == "float32" for b in bars)
    # Rows are the levels, labelled with their size: 64x64 at the top, halving per pooling.
    assert list(fig.layout.yaxis.ticktext) == [f"{64 >> r}x{64 >> r}" for r in range(depth + 1)]
    skips = [s for s in fig.layout.shapes if s.type == "path"]
    assert len(skips) == depth
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert sum(a.arrowcolor == "#e45756" for a in arrows) == depth  # one pooling arrow per level
    outline = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(outline) == 1
    legend = {t.name for t in fig.data if t.showlegend is not False}
    assert ("skip connection" in legend) == (depth > 0)


def test_diagram_folds_batch_norm_into_its_convolution_and_highlights_it():
    from unetviz.config import layer_specs
    from unetviz.figures import unet_diagram

    specs = layer_specs(PRESETS["seed-simple"].replace(batch_norm=True))
    fig = unet_diagram(specs, highlight="enc1_conv2_act")
    bars = [t for t in fig.data if t.type == "bar"]
    assert sum(len(b.x) for b in bars) == 11  # the tutorial's 11 layers; norms drawn inside
    conv = next(b for b in bars if b.name == "convolution")
    i = [c[0] for c in conv.customdata].index("enc1_conv2")
    assert "batch norm (8 params)" in conv.customdata[i][5] and "relu" in conv.customdata[i][5]
    (outline,) = [s for s in fig.layout.shapes if s.type == "rect"]
    left = conv.x[i] - conv.width[i] / 2
    assert outline.x0 < left < outline.x1


def test_diagram_copes_with_specs_read_back_from_a_model():
    from unetviz.config import LayerSpec, layer_specs
    from unetviz.figures import unet_diagram

    # A loaded model's specs carry no filter details, and may hold layers the builder never makes.
    specs = [LayerSpec(s.name, s.kind, s.shape, s.params, s.inputs, s.part, s.level)
             for s in layer_specs(PRESETS["seed-simple"].replace(batch_norm=True))]
    specs.insert(3, LayerSpec("enc1_drop", "Dropout", (8, 8, 2), 0, ("enc1_conv2",), "encoder", 1))
    fig = unet_diagram(specs, highlight="enc1_drop")
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert len(bars["Dropout"].x) == 1
    assert all(row[4] == "" for row in bars["convolution"].customdata)  # no made-up formula
    assert "then batch norm (8 params), then Activation" in bars["convolution"].customdata[0][5]
    assert len([s for s in fig.layout.shapes if s.type == "rect"]) == 1
