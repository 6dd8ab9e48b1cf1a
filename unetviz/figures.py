"""Plotly figure builders. They take arrays or specs and return a Figure; they never render.

Colours and scales live in :data:`STYLE`. Images use grays; signed data
(filters, edge responses, signed activations) a diverging scale centred on zero.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from unetviz.config import LayerSpec

STYLE = {
    "image_scale": "gray",
    "diverging_scale": "RdBu_r",  # negative blue, positive red
    "window": "#d62728",  # the sliding window's outline
    "conv": "#4c78a8",
    "pool": "#e45756",
    "up": "#54a24b",
    "concat": "#b279a2",
    "skip": "#9d755d",
    "output": "#f58518",
    "input": "#72b7b2",
    "font": 13,
    "cell_font": 12,
    "max_labelled_cells": 20,  # numbers are printed on cells when the side is at most this
}


def _fmt(v: float) -> str:
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


def matrix_heatmap(a, *, title: str = "", diverging: bool = False, zmin=None, zmax=None,
                   show_values: bool | None = None, window=None, height: int = 320,
                   colorbar: bool = False) -> go.Figure:
    """A 2D array as a heatmap, with its numbers printed when it is small enough.

    ``window`` = ``(top, left, rows, cols)`` outlines a region (the sliding window).
    ``diverging`` centres a red/blue scale on zero.
    """
    a = np.asarray(a, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"matrix_heatmap draws (H, W) arrays; got {a.shape}.")
    if show_values is None:
        show_values = max(a.shape) <= STYLE["max_labelled_cells"]
    finite = a[np.isfinite(a)]
    if diverging:
        m = float(np.abs(finite).max()) if finite.size else 1.0
        m = m or 1.0
        zmin, zmax = (-m if zmin is None else zmin), (m if zmax is None else zmax)
        scale = STYLE["diverging_scale"]
    else:
        scale = STYLE["image_scale"]
    hm = go.Heatmap(z=a, colorscale=scale, zmin=zmin, zmax=zmax, showscale=colorbar,
                    hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>")
    if max(a.shape) <= STYLE["max_labelled_cells"]:
        hm.update(xgap=1, ygap=1)  # visible cell borders only where cells are big
    if show_values:
        text = np.vectorize(_fmt)(np.nan_to_num(a)).astype(object)
        text[~np.isfinite(a)] = ""
        hm.update(text=text, texttemplate="%{text}",
                  textfont={"size": STYLE["cell_font"]})
    fig = go.Figure(hm)
    if window is not None:
        top, left, rows, cols = window
        fig.add_shape(type="rect", x0=left - 0.5, x1=left + cols - 0.5, y0=top - 0.5,
                      y1=top + rows - 0.5, line={"color": STYLE["window"], "width": 3})
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain",
                     showgrid=False, zeroline=False, showticklabels=max(a.shape) <= 32)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain",
                     showticklabels=max(a.shape) <= 32)
    fig.update_layout(title={"text": title, "font": {"size": STYLE["font"] + 1}}, height=height,
                      margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
                      plot_bgcolor="white")
    return fig


# ---------------------------------------------------------------- the U diagram

_KIND_COLOUR = {
    "InputLayer": STYLE["input"],
    "Conv2D": STYLE["conv"],
    "Conv2DTranspose": STYLE["up"],
    "MaxPooling2D": STYLE["pool"],
    "UpSampling2D": STYLE["up"],
    "Concatenate": STYLE["concat"],
}


def _drawn(specs: list[LayerSpec]) -> list[LayerSpec]:
    """The layers that get a box: batch norm and activation fold into their conv."""
    return [s for s in specs if s.kind not in ("BatchNormalization", "Activation")]


def unet_diagram(specs: list[LayerSpec], *, highlight: str | None = None,
                 height: int = 460) -> go.Figure:
    """The U: one box per layer, the encoder going down, the decoder coming up.

    Box height follows the feature map's size, box width its channels; dashed
    arrows are the skip connections. ``highlight`` outlines one layer by name.
    """
    drawn = _drawn(specs)
    depth = max((s.level for s in drawn if s.part == "bottleneck"), default=1)
    top_size = drawn[0].shape[0]

    def rel_size(s):  # feature-map side relative to the input, 1 at the top of the U
        return 0.5 ** (_row(s, depth) - 1)

    max_ch = max(s.shape[-1] for s in drawn)
    xs, fig = {}, go.Figure()
    x = 0.0
    for s in drawn:
        row = _row(s, depth)
        h = 0.28 + 0.5 * rel_size(s)
        w = 0.18 + 0.55 * np.log1p(s.shape[-1]) / np.log1p(max_ch)
        y = -row * 0.95
        xs[s.name] = (x + w / 2, y)
        colour = _KIND_COLOUR.get(s.kind, STYLE["conv"])
        if s.name == "out":
            colour = STYLE["output"]
        fig.add_shape(type="rect", x0=x, x1=x + w, y0=y - h / 2, y1=y + h / 2,
                      fillcolor=colour, opacity=0.85,
                      line={"color": "black" if s.name == highlight else "white",
                            "width": 3 if s.name == highlight else 1})
        size = "?" if s.shape[0] is None else f"{s.shape[0]}x{s.shape[1]}"
        fig.add_annotation(x=x + w / 2, y=y + h / 2, text=f"{s.shape[-1]}", showarrow=False,
                           yshift=9, font={"size": 10})
        if s.kind in ("MaxPooling2D", "InputLayer") or s.name == "out":
            fig.add_annotation(x=x + w / 2, y=y - h / 2, text=size, showarrow=False, yshift=-9,
                               font={"size": 10})
        x += w + 0.12
    # Hover markers carry the layer details.
    fig.add_trace(go.Scatter(
        x=[xs[s.name][0] for s in drawn], y=[xs[s.name][1] for s in drawn], mode="markers",
        marker={"size": 18, "opacity": 0}, showlegend=False,
        customdata=[[s.name, s.kind, _shape_text(s.shape), f"{s.params:,}"] for s in drawn],
        hovertemplate="<b>%{customdata[0]}</b> (%{customdata[1]})<br>output %{customdata[2]}"
                      "<br>%{customdata[3]} parameters<extra></extra>"))
    # Skip connections: from the encoder's last conv to the decoder's concat, same row.
    for s in drawn:
        if s.kind == "Concatenate":
            src = s.inputs[0]
            src = _folded(src)
            x0, y0 = xs[src]
            x1, y1 = xs[s.name]
            fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                               showarrow=True, arrowhead=2, arrowwidth=1.5,
                               arrowcolor=STYLE["skip"], text="")
            fig.add_annotation(x=(x0 + x1) / 2, y=y0, text="skip (copy + concatenate)",
                               showarrow=False, yshift=10, font={"size": 10, "color": STYLE["skip"]})
    for kind, label in [("Conv2D", "convolution"), ("MaxPooling2D", "max pool 2x2"),
                        ("UpSampling2D", "up-sample 2x2"), ("Concatenate", "concatenate")]:
        if any(s.kind == kind for s in drawn):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label,
                                     marker={"size": 12, "symbol": "square",
                                             "color": _KIND_COLOUR[kind]}))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor=None)
    fig.update_layout(height=height, margin={"l": 5, "r": 5, "t": 30, "b": 5},
                      plot_bgcolor="white", legend={"orientation": "h", "y": 1.08},
                      title={"text": f"input {top_size or '?'} px, "
                                     f"{sum(s.params for s in specs):,} parameters",
                             "font": {"size": 12}, "x": 0.99, "xanchor": "right"})
    return fig


def _row(s: LayerSpec, depth: int) -> int:
    """Vertical position: 1 at the top of the U, depth + 1 at the bottom."""
    if s.part in ("input", "output"):
        return 1
    if s.kind == "MaxPooling2D":
        return s.level + 1  # the pooled map lives one level down
    return s.level


def _folded(name: str) -> str:
    """The drawn layer that ``name`` belongs to (an ``_act`` folds into its conv)."""
    for suffix in ("_act", "_bn"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _shape_text(shape) -> str:
    return "(" + ", ".join("?" if v is None else str(v) for v in shape) + ")"
