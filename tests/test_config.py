"""unetviz.config: the builder's controls, the Keras-like summary, formulas, and a property test
that every builder configuration either builds exactly as layer_specs says or is explained."""

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from unetviz.config import (
    ACTIVATIONS,
    FILTER_GROWTHS,
    MAX_DEPTH,
    OUT_ACTIVATIONS,
    PRESETS,
    UPSAMPLING_KINDS,
    UNetConfig,
    UNetConfigError,
    builder_config,
    builder_controls,
    count_params,
    explain_layer,
    formula_latex,
    grow_filters,
    layer_specs,
    param_totals,
    preset_name,
    summary_table,
)


@pytest.mark.parametrize("first,levels,growth,expected", [
    (16, 4, "x2", (16, 32, 64, 128)),
    (2, 2, "+1", (2, 3)),
    (4, 3, "same", (4, 4, 4)),
    (8, 3, "+16", (8, 24, 40)),
    (4, 4, "x1.5", (4, 6, 9, 14)),  # 13.5 rounds to even: 14
    (5, 1, "x2", (5,)),
])
def test_grow_filters(first, levels, growth, expected):
    assert grow_filters(first, levels, growth=growth) == expected


@pytest.mark.parametrize("args,match", [
    ((0, 2, "x2"), "at least one filter"),
    ((2, 2, "x7"), "Unknown filter growth"),
    ((2, 0, "x2"), "at least one level"),
])
def test_grow_filters_refuses_nonsense(args, match):
    with pytest.raises(UNetConfigError, match=match):
        grow_filters(args[0], args[1], growth=args[2])


@pytest.mark.parametrize("key", list(PRESETS))
def test_presets_round_trip_through_the_controls(key):
    controls = builder_controls(PRESETS[key])
    assert len(controls["kernel_sizes"]) == MAX_DEPTH + 1
    assert builder_config(**controls) == PRESETS[key]
    assert builder_config(**controls).name == PRESETS[key].name
    assert preset_name(builder_config(**controls)) == key


def test_preset_controls_written_out():
    assert builder_controls(PRESETS["seed-simple"]) == {
        "input_size": 8, "depth": 1, "first_filters": 2, "growth": "+1",
        "kernel_sizes": (3, 3, 3, 3, 3, 3), "convs_per_block": 2, "decoder_convs": 1,
        "upsampling": "upsample_conv", "up_kernel": 3, "skips": True, "activation": "relu",
        "out_activation": "sigmoid", "batch_norm": False, "head_filters": 0, "out_kernel": 3,
    }
    membrane = builder_controls(PRESETS["seed-membrane"])
    assert (membrane["first_filters"], membrane["growth"]) == (16, "x2")
    assert membrane["kernel_sizes"] == (3, 3, 5, 5, 5, 5)
    assert (membrane["head_filters"], membrane["up_kernel"], membrane["out_kernel"]) == (2, 2, 1)


def test_changed_controls_are_no_preset():
    controls = builder_controls(PRESETS["seed-simple"]) | {"depth": 2}
    cfg = builder_config(**controls)
    assert preset_name(cfg) is None and cfg.name == "my_unet"
    assert cfg.filters == (2, 3, 4) and cfg.kernel_sizes == (3, 3, 3)


def test_short_kernel_list_repeats_its_last_size():
    cfg = builder_config(depth=3, input_size=16, kernel_sizes=(3, 5))
    assert cfg.kernel_sizes == (3, 5, 5, 5)


def test_filters_off_every_growth_rule_cannot_be_shown():
    with pytest.raises(ValueError, match="growth rules"):
        builder_controls(PRESETS["seed-simple"].replace(filters=(2, 7)))


def test_summary_table_matches_the_tutorials_keras_summary():
    rows = summary_table(layer_specs(PRESETS["seed-simple"]))
    assert [(*r["Layer (type)"][:-1].split(" ("), r["Output shape"], r["Param #"],
             r["Connected to"]) for r in rows] == [
        ("input", "InputLayer", "(None, 8, 8, 1)", 0, ""),
        ("enc1_conv1", "Conv2D", "(None, 8, 8, 2)", 20, "input"),
        ("enc1_conv2", "Conv2D", "(None, 8, 8, 2)", 38, "enc1_conv1"),
        ("enc1_pool", "MaxPooling2D", "(None, 4, 4, 2)", 0, "enc1_conv2"),
        ("bottleneck_conv1", "Conv2D", "(None, 4, 4, 3)", 57, "enc1_pool"),
        ("bottleneck_conv2", "Conv2D", "(None, 4, 4, 3)", 84, "bottleneck_conv1"),
        ("dec1_up", "UpSampling2D", "(None, 8, 8, 3)", 0, "bottleneck_conv2"),
        ("dec1_upconv", "Conv2D", "(None, 8, 8, 2)", 56, "dec1_up"),
        ("dec1_concat", "Concatenate", "(None, 8, 8, 4)", 0, "enc1_conv2, dec1_upconv"),
        ("dec1_conv1", "Conv2D", "(None, 8, 8, 2)", 74, "dec1_concat"),
        ("out", "Conv2D", "(None, 8, 8, 1)", 19, "dec1_conv1"),
    ]


def test_summary_table_of_the_membrane_model():
    rows = {r["Layer (type)"].split()[0]: r for r in summary_table(layer_specs(PRESETS["seed-membrane"]))}
    assert rows["bottleneck_conv2"]["Output shape"] == "(None, 8, 8, 128)"
    assert rows["bottleneck_conv2"]["Param #"] == 409_728  # 128 x (5 x 5 x 128) + 128
    assert rows["dec3_concat"]["Connected to"] == "enc3_conv2, dec3_upconv"
    assert rows["dec3_concat"]["Output shape"] == "(None, 16, 16, 128)"
    assert rows["head_conv"]["Param #"] == 290  # 2 x (3 x 3 x 16) + 2
    assert sum(r["Param #"] for r in rows.values()) == 1_170_149


def test_param_totals_count_batch_norm_statistics_as_not_trained():
    # seed-simple with batch norm: six relu convs lose their biases (348 - 2-2-3-3-2-2 - 19 + 19
    # = 334 weights) and gain 4 numbers per channel: 4 x (2+2+3+3+2+2) = 56, half of them frozen.
    totals = param_totals(layer_specs(PRESETS["seed-simple"].replace(batch_norm=True)))
    assert totals == {"total": 334 + 56, "trainable": 334 + 28, "non_trainable": 28}
    assert param_totals(layer_specs(PRESETS["seed-membrane"]))["non_trainable"] == 0


@pytest.mark.parametrize("name,numbers", [
    ("enc1_conv1", (2, "3 \\times 3", 1, 20)),
    ("enc1_conv2", (2, "3 \\times 3", 2, 38)),
    ("bottleneck_conv1", (3, "3 \\times 3", 2, 57)),
    ("bottleneck_conv2", (3, "3 \\times 3", 3, 84)),
    ("dec1_upconv", (2, "3 \\times 3", 3, 56)),
    ("dec1_conv1", (2, "3 \\times 3", 4, 74)),
    ("out", (1, "3 \\times 3", 2, 19)),
])
def test_formula_of_every_tutorial_layer(name, numbers):
    spec = next(s for s in layer_specs(PRESETS["seed-simple"]) if s.name == name)
    filters, kernel, channels, total = numbers
    tex = formula_latex(spec)
    assert tex.startswith(rf"\underbrace{{{filters}}}_{{\text{{filters}}}}")
    assert rf"\underbrace{{{kernel}}}_{{\text{{kernel}}}}" in tex
    assert rf"\underbrace{{{channels}}}_{{\text{{channels in}}}}" in tex
    assert tex.endswith(rf"+ \underbrace{{{filters}}}_{{\text{{biases}}}} = {total}")


def test_formula_for_big_numbers_batch_norm_and_empty_layers():
    specs = {s.name: s for s in layer_specs(PRESETS["seed-membrane"].replace(batch_norm=True))}
    assert formula_latex(specs["bottleneck_conv2"]).endswith("= 409{,}600")  # no bias
    assert "biases" not in formula_latex(specs["bottleneck_conv2"])
    assert formula_latex(specs["enc1_conv1_bn"]).endswith(r"\underbrace{16}_{\text{channels}} = 64")
    assert formula_latex(specs["enc1_pool"]) == "0"


def test_explain_layer_uses_the_layers_numbers():
    specs = layer_specs(PRESETS["seed-simple"])
    assert "3x3x2 = 18 weights" in explain_layer(specs, "enc1_conv2")
    assert "8x8 becomes 4x4" in explain_layer(specs, "enc1_pool")
    assert "4x4 becomes 8x8" in explain_layer(specs, "dec1_up")
    text = explain_layer(specs, "dec1_concat")
    assert "2 channels of **enc1_conv2**" in text and "4 channels" in text
    assert "sigmoid" in explain_layer(specs, "out")
    with pytest.raises(ValueError, match="No layer called"):
        explain_layer(specs, "enc9_conv1")


def test_explain_every_kind_of_layer():
    cfg = PRESETS["seed-simple"].replace(batch_norm=True, upsampling="transpose")
    specs = layer_specs(cfg)
    for s in specs:
        assert explain_layer(specs, s.name).endswith(".")
    assert "no bias" in explain_layer(specs, "enc1_conv1")
    assert "not trained" in explain_layer(specs, "enc1_conv1_bn")
    assert "learned up-sampling" in explain_layer(specs, "dec1_up")


# ---------------------------------------------------------------- property test against Keras

controls = st.fixed_dictionaries({
    "input_size": st.one_of(st.sampled_from((16, 32, 48, 64)), st.integers(1, 64)),  # half poolable
    "depth": st.integers(0, 4),
    "first_filters": st.integers(1, 4),
    "growth": st.sampled_from(FILTER_GROWTHS),
    "kernel_sizes": st.lists(st.sampled_from((1, 2, 3, 5)), min_size=1, max_size=MAX_DEPTH + 1)
                      .map(tuple),
    "convs_per_block": st.integers(1, 2),
    "decoder_convs": st.integers(0, 2),
    "upsampling": st.sampled_from(UPSAMPLING_KINDS),
    "up_kernel": st.integers(1, 3),
    "skips": st.booleans(),
    "activation": st.sampled_from(ACTIVATIONS),
    "out_activation": st.sampled_from(OUT_ACTIVATIONS),
    "batch_norm": st.booleans(),
    "head_filters": st.integers(0, 2),
    "out_kernel": st.sampled_from((1, 3)),
})


def _check_against_keras(cfg: UNetConfig):
    """Build ``cfg`` with Keras, or check that both sides explain why not."""
    from unetviz.model import build_unet  # Keras only here, so the other tests stay light

    try:
        specs = layer_specs(cfg)
    except UNetConfigError as err:
        assert len(str(err)) > 20 and str(err)[0].isupper()  # a sentence, not a code
        with pytest.raises(UNetConfigError):
            build_unet(cfg)
        return None
    model = build_unet(cfg)
    assert model.count_params() == count_params(cfg) == sum(r["Param #"] for r in summary_table(specs))
    assert [layer.name for layer in model.layers] == [s.name for s in specs]
    for layer, spec in zip(model.layers, specs):
        assert tuple(layer.output.shape[1:]) == spec.shape, spec.name
        assert layer.count_params() == spec.params, spec.name
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert trainable == param_totals(specs)["trainable"]
    return model


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controls)
def test_builder_configs_build_exactly_or_explain(values):
    pytest.importorskip("keras")
    try:
        cfg = builder_config(**values)
    except UNetConfigError as err:
        assert "at least" in str(err) or "Unknown" in str(err)
        return
    event("built" if _check_against_keras(cfg) is not None else "explained")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.builds(
    UNetConfig,
    input_size=st.one_of(st.none(), st.integers(-1, 40)),
    depth=st.integers(-1, 3),
    filters=st.lists(st.integers(0, 3), min_size=1, max_size=4).map(tuple),
    kernel_sizes=st.lists(st.integers(0, 3), min_size=1, max_size=4).map(tuple),
    convs_per_block=st.integers(0, 2),
    decoder_convs=st.one_of(st.none(), st.integers(-1, 2)),
    upsampling=st.sampled_from(UPSAMPLING_KINDS + ("magic",)),
    head_filters=st.integers(-1, 2),
))
def test_raw_configs_build_exactly_or_explain(cfg):
    pytest.importorskip("keras")
    _check_against_keras(cfg)


def test_the_property_check_sees_a_real_explanation():
    with pytest.raises(UNetConfigError, match="cannot be pooled 2 times"):
        layer_specs(builder_config(input_size=6, depth=2))
