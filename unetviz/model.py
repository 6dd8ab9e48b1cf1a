"""Build U-Nets from a small frozen config, and load saved models safely.

The layers, their names and shapes come from :func:`unetviz.config.layer_specs`.

Importing this module imports Keras; the operation pages never import it.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers  # noqa: E402

from unetviz.config import (  # noqa: E402,F401 - re-exported for callers of unetviz.model
    PRESETS,
    LayerSpec,
    UNetConfig,
    UNetConfigError,
    count_params,
    layer_specs,
    validate_config,
)


def _make_layer(spec: LayerSpec, config: UNetConfig):
    """The Keras layer for one :class:`LayerSpec`."""
    init = config.kernel_initializer
    if spec.kind == "Conv2D":
        return layers.Conv2D(spec.filters, spec.kernel, padding="same", activation=spec.activation,
                             use_bias=spec.use_bias,
                             kernel_initializer=init, name=spec.name)
    if spec.kind == "Conv2DTranspose":
        return layers.Conv2DTranspose(spec.filters, spec.kernel, strides=2, padding="same",
                                      activation=spec.activation, kernel_initializer=init,
                                      name=spec.name)
    if spec.kind == "BatchNormalization":
        return layers.BatchNormalization(name=spec.name)
    if spec.kind == "Activation":
        return layers.Activation(spec.activation, name=spec.name)
    if spec.kind == "MaxPooling2D":
        return layers.MaxPooling2D(2, name=spec.name)
    if spec.kind == "UpSampling2D":
        return layers.UpSampling2D(2, name=spec.name)
    if spec.kind == "Concatenate":
        return layers.Concatenate(axis=-1, name=spec.name)
    raise AssertionError(f"no Keras layer for {spec.kind}")


def build_unet(config: UNetConfig) -> keras.Model:
    """Build the Keras model that ``config`` describes, layer for layer as
    :func:`unetviz.config.layer_specs` lists it.

    Raises :class:`UNetConfigError` (a ValueError) with an explanation when
    the combination cannot work.

    Examples
    --------
    >>> build_unet(PRESETS["seed-simple"]).count_params()
    348
    """
    specs = layer_specs(config)
    tensors = {}
    for spec in specs:
        if spec.kind == "InputLayer":
            tensors[spec.name] = keras.Input(spec.shape, name=spec.name)
            continue
        inputs = [tensors[name] for name in spec.inputs]
        tensors[spec.name] = _make_layer(spec, config)(inputs if len(inputs) > 1 else inputs[0])
    return keras.Model(tensors[specs[0].name], tensors[specs[-1].name], name=config.name)


# ---------------------------------------------------------------- loading


class ModelLoadError(ValueError):
    """A model file that cannot be used, with the reason in words."""


MAX_MODEL_BYTES = 200 * 1024 * 1024  # uncompressed size of all members of a .keras archive
_ALLOWED_MODULE_PREFIXES = ("keras", "builtins")


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _check_archive(data: bytes) -> None:
    """Refuse anything that is not a plain Keras archive of built-in layers."""
    if not data:
        raise ModelLoadError("The model file is empty.")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelLoadError(
            "This is not a Keras model file: a .keras file is a zip archive saved by "
            "model.save('name.keras')."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if "config.json" not in names:
                raise ModelLoadError("The archive has no config.json, so it is not a Keras 3 model.")
            total = sum(i.file_size for i in infos)
            if total > MAX_MODEL_BYTES:
                raise ModelLoadError(
                    f"The model unpacks to {total / 1e6:.0f} MB, over the limit of "
                    f"{MAX_MODEL_BYTES / 1e6:.0f} MB."
                )
            config = json.loads(zf.read("config.json"))
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any corrupt archive
        raise ModelLoadError(f"The model archive is damaged ({exc}).") from exc
    for node in _walk(config):
        cls = node.get("class_name")
        if cls == "Lambda":
            raise ModelLoadError(
                "The model contains a Lambda layer, which holds Python code. Models with code "
                "are refused: they could run anything on the server."
            )
        module = node.get("module")
        if isinstance(module, str) and cls and not module.startswith(_ALLOWED_MODULE_PREFIXES):
            raise ModelLoadError(
                f"The model uses {cls!r} from {module!r}. Only Keras' own layers can be loaded; "
                "custom code is never run."
            )
        if cls in ("function", "__lambda__"):
            raise ModelLoadError("The model contains a Python function, which is refused.")


def _check_image_to_image(model: keras.Model) -> None:
    """Refuse models that do not map one image to one image of the same or a smaller size.

    Valid-convolution U-Nets (the 2015 paper's) give back a smaller image than
    they take; their output sits at the centre of the input
    (:func:`unetviz.predict.output_offset`). Open sizes (None) pass here and are
    checked when an image is predicted.
    """
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelLoadError(
            "This model has several inputs or outputs; only image-to-image models with one "
            "input and one output can be inspected."
        )
    in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(in_shape) != 4 or len(out_shape) != 4:
        raise ModelLoadError(
            f"This model maps {in_shape} to {out_shape}; an image-to-image model maps "
            "(batch, height, width, channels) to (batch, height, width, channels)."
        )
    larger = [axis for axis, (i, o) in enumerate(zip(in_shape[1:3], out_shape[1:3]))
              if i is not None and o is not None and o > i]
    if larger:
        raise ModelLoadError(
            f"This model's output size {_size_text(out_shape[1:3])} is larger than its input "
            f"size {_size_text(in_shape[1:3])}; an image-to-image model gives back an image of "
            "the input's size or, with valid convolutions, a smaller one."
        )


def _size_text(hw) -> str:
    return "x".join("any" if n is None else str(n) for n in hw)


def load_model(source) -> keras.Model:
    """Load a ``.keras`` file safely: no custom code ever runs.

    ``source`` is a path, bytes, or a binary file object. Anything that is not
    an image-to-image Keras model raises :class:`ModelLoadError` with a reason.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ModelLoadError(f"No model file at {path}.")
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise ModelLoadError("The model file is larger than the limit.")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(MAX_MODEL_BYTES + 1)
        if len(data) > MAX_MODEL_BYTES:
            raise ModelLoadError("The model file is larger than the limit.")
    else:
        raise ModelLoadError(f"Cannot read a model from a {type(source).__name__}.")
    _check_archive(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds
            raise ModelLoadError(f"Keras could not load this model: {exc}") from exc
    if not isinstance(model, keras.Model):
        raise ModelLoadError("The file does not hold a Keras model.")
    _check_image_to_image(model)
    return model


def rebuild(model: keras.Model, config: UNetConfig) -> keras.Model:
    """A fresh model built from ``config`` carrying ``model``'s weights as float32.

    Used to turn a model trained in mixed precision into a float32 one, or to
    give a trained model another input size (U-Nets are fully convolutional).
    """
    copy = build_unet(config)
    copy.set_weights([w.astype("float32") for w in model.get_weights()])
    return copy


def save_model(model: keras.Model, path) -> Path:
    """Save ``model`` as a ``.keras`` file without its optimizer or loss.

    A plain file of built-in layers is what :func:`load_model` accepts, so a
    model saved here can always be loaded back.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError("Keras models are saved with the .keras extension.")
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    plain.save(path)
    return path


def model_to_bytes(model: keras.Model) -> bytes:
    """The ``.keras`` file of :func:`save_model` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as tmp:
        return save_model(model, Path(tmp) / "model.keras").read_bytes()
