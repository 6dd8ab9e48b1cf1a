"""Convolution: a filter slides over an image, one window at a time."""

import numpy as np
import streamlit as st

from pages._common import tour_nav
from unetviz import ops
from unetviz.figures import matrix_heatmap

st.title("Convolution")
A = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]])
B = np.array([[3, 2, 3], [4, 2, 4], [3, 3, 3]])
IMAGE = np.array([[0, 3, 6, 2, 3], [2, 5, 6, 3, 1], [1, 2, 0, 0, 3], [0, 5, 6, 4, 4],
                  [4, 3, 3, 4, 3]])

st.markdown("A convolution multiplies a small window of the image by a filter, cell by cell, "
            "and adds the products up. Here is one window:")
c1, c2, c3 = st.columns(3)
c1.plotly_chart(matrix_heatmap(A, title="Filter A", height=220), key="dot_a")
c2.plotly_chart(matrix_heatmap(B, title="Window B", height=220), key="dot_b")
c3.plotly_chart(matrix_heatmap(A * B, title="A x B", height=220), key="dot_ab")
st.latex(r"\sum_{i,j} A_{ij} B_{ij} = " + f"{ops.conv2d(B, A).item():g}")

padding = st.radio("Padding", [0, 1], horizontal=True, key="conv_padding")
steps = list(ops.conv2d_steps(IMAGE, A, padding=padding))
k = st.slider("Step", 1, len(steps), 1, key="conv_step")
step = steps[k - 1]
out = np.full(ops.conv2d(IMAGE, A, padding=padding).shape, np.nan)
for s in steps[:k]:
    out[s.row, s.col] = s.output[0]
left, right = st.columns(2)
left.plotly_chart(matrix_heatmap(ops.conv2d_padded_input(IMAGE, A, padding=padding),
                                 title="Image (padded)" if padding else "Image",
                                 window=(step.top, step.left, 3, 3)), key="conv_image")
right.plotly_chart(matrix_heatmap(out, title="Output so far", zmin=0, zmax=29), key="conv_out")
st.markdown(f"Output pixel ({step.row}, {step.col}) = **{step.value[0]:g}**")
tour_nav("pages/convolution.py")
