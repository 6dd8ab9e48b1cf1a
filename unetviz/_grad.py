"""Gradients of a scalar function with whichever backend Keras runs on.

Keras 3 has no backend-neutral ``grad``: each backend differentiates its own
way (TensorFlow's ``GradientTape``, ``jax.grad``, torch autograd). This module
is the one place that switches on the backend; everything else is written with
``keras.ops``. Importing it imports Keras.
"""

from __future__ import annotations

import keras
import numpy as np


def gradient(fn, x) -> np.ndarray:
    """d fn(x) / dx as a NumPy array shaped like ``x``, for a scalar-valued ``fn``.

    ``fn`` takes a backend tensor and returns a scalar tensor, built from Keras
    layers and ``keras.ops`` so that every backend can trace it.

    >>> from keras import ops
    >>> gradient(lambda v: ops.sum(v * v), np.array([1.0, 2.0], np.float32)).tolist()
    [2.0, 4.0]
    """
    x = np.asarray(x)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = fn(xt)
        g = tape.gradient(y, xt)  # None where fn does not depend on x
        return np.zeros_like(x) if g is None else np.asarray(g)
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(fn)(x))
    if backend == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        fn(xt).backward()
        return np.zeros_like(x) if xt.grad is None else xt.grad.detach().cpu().numpy()
    raise ValueError(f"Gradients are not supported on the {backend} backend; use tensorflow, jax or torch.")
