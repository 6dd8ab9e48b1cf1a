"""unetviz: the library behind the app. It never imports streamlit.

Importing the package loads only NumPy, SciPy, Pillow and Plotly; the modules
that need Keras (``model``, ``losses``, ``pretrain``) are imported on demand.
"""

from unetviz.config import PRESETS, LayerSpec, UNetConfig, UNetConfigError, count_params, layer_specs
from unetviz.images import ImageInputError, load_image
from unetviz.metrics import Scores, segmentation_scores
from unetviz.ops import (
    ConvStep,
    avg_pool,
    concat,
    conv2d,
    conv2d_steps,
    conv_transpose2d,
    max_pool,
    output_size,
    pad,
    upsample,
)

__all__ = [
    "PRESETS", "ConvStep", "ImageInputError", "LayerSpec", "Scores", "UNetConfig", "UNetConfigError",
    "avg_pool", "concat", "conv2d", "conv2d_steps", "conv_transpose2d", "count_params",
    "layer_specs", "load_image", "max_pool", "output_size", "pad", "segmentation_scores",
    "upsample",
]
