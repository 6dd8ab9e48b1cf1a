"""The inspector on a zoo of third-party U-Nets (tests/unet_zoo.py), each saved and loaded as .keras.

For every model: every node's activation equals Keras' own graph on the same input
(nested nodes: the nested model's own sub-graph fed with the activation of its input),
the skips are the ones the recipe says, every layer has a description, and the
receptive field of pixels of several layers contains the support of the input gradient.
"""

from collections import defaultdict

import keras
import numpy as np
import pytest
from unet_zoo import ZOO

from unetviz.inspection import Inspector
from unetviz.model import load_model

SIZES = {"any_size": (24, 20)}  # an open-size model gets a non-square image


def _load(model, folder):
    path = folder / f"{model.name}.keras"
    model.save(path)
    return load_model(path)  # the app's own safe loader: every recipe must pass it


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoo")
    cache = {}

    def get(name):
        if name not in cache:
            keras.utils.set_random_seed(7)
            ins = Inspector(_load(ZOO[name][0](), folder))
            h, w = ins.input_shape[:2]
            h, w = (h, w) if h else SIZES[name]
            x = np.random.default_rng(3).random((h, w, ins.in_channels)).astype(np.float32)
            cache[name] = (ins, x * ins.input_scale)
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_activation_equals_the_models_own_graph(zoo, name):
    ins, x = zoo(name)
    acts = ins.activations(x)
    assert set(acts) == {v.name for v in ins.layers}
    np.testing.assert_allclose(acts[ins.output_name], np.asarray(ins.model(x[None]))[0],
                               rtol=1e-5, atol=1e-5)
    groups = defaultdict(list)  # one reference model per (sub-)model call
    for node in ins.graph.nodes[1:]:
        groups[(id(node.scope), node.scope_inputs)].append(node)
    for nodes in groups.values():
        scope = nodes[0].scope
        ref = keras.Model(scope.inputs, [n.origin for n in nodes])
        feed = [acts[i][None] for i in nodes[0].scope_inputs]
        outs = ref(feed, training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for node, out in zip(nodes, outs):
            np.testing.assert_allclose(acts[node.name], np.asarray(out)[0], rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}: {node.name}")
        assert acts[nodes[0].name].dtype == np.float32


@pytest.mark.parametrize("name", sorted(ZOO))
def test_skips_are_the_ones_the_recipe_says(zoo, name):
    ins, _ = zoo(name)
    expected = ZOO[name][1]
    merges = {v.name: v.roles for v in ins.layers if v.is_merge}
    assert set(expected) <= set(merges)
    for merge, roles in merges.items():
        assert roles == expected.get(merge, ("same",) * len(roles)), merge
    for merge, roles in expected.items():
        v = ins.layer(merge)
        skip = v.inputs[roles.index("skip")]
        assert v.skip_from == skip and merge in ins.layer(skip).skips_to
        if v.kind == "Concatenate":
            assert f"are {skip}, copied across the U (the skip)" in v.caption()
    assert all(v.description and not v.description.startswith("A ") for v in ins.layers), \
        [v.description for v in ins.layers if v.description.startswith("A ")]


def _pixels(ins, x):
    """A few pixels of a few layers: two early layers, the first merges and the output."""
    acts = ins.activations(x)
    names = [v.name for v in ins.layers[1:]]
    chosen = [names[len(names) // 5], names[len(names) // 3]]
    chosen += [v.name for v in ins.layers if v.is_merge][:2] + [ins.output_name]
    for i, name in enumerate(dict.fromkeys(chosen)):
        h, w = acts[name].shape[:2]
        yield from [(name, 0, 0), (name, h - 1, w - 1)] if i % 2 else [(name, h // 2, w // 3)]


@pytest.mark.parametrize("name", sorted(ZOO))
def test_receptive_fields_contain_the_gradient(zoo, name):
    ins, x = zoo(name)
    checked = 0
    for layer, r, c in _pixels(ins, x):
        rf = ins.receptive_field(layer, r, c, size=x.shape)
        grad = ins.input_gradient(x, layer, r, c)
        rows, cols = np.nonzero(grad)
        if rows.size:
            checked += 1
            assert rf.top <= rows.min() and rows.max() <= rf.bottom, (layer, r, c, rf)
            assert rf.left <= cols.min() and cols.max() <= rf.right, (layer, r, c, rf)
        assert rf.rows >= rf.bottom - rf.top + 1 and rf.cols >= rf.right - rf.left + 1
    assert checked >= 4


def test_the_zoo_reports_its_inputs_and_outputs(zoo):
    expect = {  # in_channels, out_channels, out_activation, input_scale
        "mobilenet": (3, 3, "softmax", 1.0), "sequential": (1, 1, "sigmoid", 1.0),
        "rgb_softmax": (3, 4, "softmax", 1.0), "unet2015": (1, 2, "softmax", 1.0),
        "preprocessing": (1, 1, "sigmoid", 255.0), "nested": (4, 1, "sigmoid", 1.0),
        "xception": (3, 3, "softmax", 1.0),
    }
    for name, want in expect.items():
        ins, x = zoo(name)
        assert (ins.in_channels, ins.out_channels, ins.out_activation, ins.input_scale) == want, name
    ins, x = zoo("unet2015")
    assert ins.activations(x)[ins.output_name].shape == (20, 20, 2)  # valid convolutions: smaller


def test_the_zoo_places_layers_in_the_u(zoo):
    ins, _ = zoo("mobilenet")
    enc = ins.layer("block_6_expand_relu")
    assert enc.path == ("encoder",) and enc.part == "encoder" and enc.level == 4  # 32 -> 4 pixels
    assert ins.layer("up0_tconv").path == ("up0",) and ins.layer("up0_tconv").part == "decoder"
    assert ins.layer("block_16_project").part == "bottleneck"
    assert ins.layer("probs").part == "output" and ins.layer("last").part == "output"
    assert all(v.roles == ("same", "same") for v in ins.layers if v.kind == "Add")  # residuals
    ins, _ = zoo("nested")
    names = [v.name for v in ins.layers]
    assert "block1/conv_a" in names and "block1/conv_a@2" in names and "block2/conv_a" in names
    assert ins.layer("block1/res@2").inputs == ("block1/res", "block1/conv_b@2")
    ins, _ = zoo("sequential")
    assert [v.part for v in ins.layers] == ["input", "encoder", "encoder", "bottleneck", "decoder",
                                           "decoder", "output"]
    ins, _ = zoo("unet2015")
    assert ins.layer("c1").caption() == ("Concatenation: channels 0-3 are crop1, copied across the U "
                                         "(the skip); 4-7 come up from below through u1.")


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_node_answers_for_its_weights(zoo, name):
    ins, _ = zoo(name)
    for view in ins.layers:
        weights = ins.kernels(view.name)  # keras.ops calls and weightless layers give {}
        assert isinstance(weights, dict)
        if view.has_filters:
            kernel, bias = ins.kernel(view.name)
            assert kernel.ndim == 4 and (bias is None or bias.ndim == 1)
