"""A convolution played as an animation: Plotly frames built from :func:`unetviz.ops.conv2d`.

The maths stays in :mod:`unetviz.ops`; this module only decides which pixels each
frame shows. Plotly's own play button and slider do the timing in the browser,
so playing costs the server nothing.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unetviz import ops
from unetviz.figures import STYLE


def frame_ends(total: int, max_frames: int = 60) -> list[int]:
    """How many output pixels are filled in after each frame (the last is ``total``).

    One pixel per frame when there are at most ``max_frames`` steps, else even chunks.

    >>> frame_ends(4), frame_ends(10, max_frames=3)
    ([1, 2, 3, 4], [4, 7, 10])
    """
    if total < 1 or max_frames < 1:
        raise ValueError("An animation needs at least one step and one frame.")
    n = min(total, max_frames)
    return [int(np.ceil(total * (i + 1) / n)) for i in range(n)]


# Numbers on cells, formatted in the browser (cells not filled yet, NaN, stay blank): this keeps
# the frames small, with no text arrays to build and send.
NUMBERS = "%{z:.2~f}"


def conv_animation(image, kernel, *, stride=1, padding=0, dilation=1, bias=0.0,
                   activation=None, max_frames: int = 40, frame_ms: int = 400,
                   height: int = 430) -> go.Figure:
    """The sliding window and the output growing, as a Plotly figure with a play button.

    Parameters
    ----------
    image : (H, W) array
    kernel : (f, f) array
    stride, padding, dilation, bias, activation : as :func:`unetviz.ops.conv2d`
    max_frames : the most frames; bigger outputs fill several pixels per frame

    Examples
    --------
    >>> fig = conv_animation(np.eye(4), np.ones((3, 3)))
    >>> len(fig.frames)
    4
    """
    k = np.asarray(kernel, dtype=np.float64)
    kw = {"stride": stride, "padding": padding, "dilation": dilation}
    padded = ops.conv2d_padded_input(image, k, **kw).astype(np.float32)  # (Hp, Wp)
    out = ops.conv2d(image, k, bias=bias, activation=activation, **kw)  # (H', W')
    oh, ow = out.shape
    s = stride if np.isscalar(stride) else stride[0]
    d = dilation if np.isscalar(dilation) else dilation[0]
    span = d * (k.shape[0] - 1) + 1
    labelled = max(oh, ow, *padded.shape) <= STYLE["max_labelled_cells"]
    finite = out[np.isfinite(out)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)

    def out_trace(k_done: int) -> dict:
        part = ops.partial_output(out, k_done).astype(np.float32)
        extra = {"texttemplate": NUMBERS} if labelled else {}
        return {"type": "heatmap", "z": part, "colorscale": STYLE["image_scale"], "zmin": lo,
                "zmax": hi, "showscale": False, "xgap": 1 if labelled else 0,
                "ygap": 1 if labelled else 0,
                "hovertemplate": "out row %{y}, col %{x}: %{z:.4g}<extra></extra>", **extra}

    def window(k_done: int) -> dict:
        i = k_done - 1
        top, left = (i // ow) * s, (i % ow) * s
        return {"type": "rect", "xref": "x", "yref": "y", "x0": left - 0.5, "x1": left + span - 0.5,
                "y0": top - 0.5, "y1": top + span - 0.5,
                "line": {"color": STYLE["window"], "width": 3}}

    fig = make_subplots(1, 2, subplot_titles=("Input (padded)" if np.any(np.asarray(padding)) else
                                              "Input", "Output so far"), horizontal_spacing=0.08)
    img_extra = {"texttemplate": NUMBERS} if labelled else {}
    fig.add_trace(go.Heatmap(z=padded, colorscale=STYLE["image_scale"], showscale=False,
                             xgap=1 if labelled else 0, ygap=1 if labelled else 0,
                             hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>",
                             **img_extra), 1, 1)
    ends = frame_ends(oh * ow, max_frames)
    fig.add_trace(go.Heatmap(out_trace(ends[0])), 1, 2)
    fig.update_layout(shapes=[window(ends[0])])
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False,
                     zeroline=False, row=1, col=1)
    # The output panel keeps its full size while it is still mostly empty (grey).
    ticks = {"dtick": 1} if labelled else {}
    fig.update_yaxes(range=[oh - 0.5, -0.5], autorange=False, scaleanchor="x2", constrain="domain",
                     showgrid=False, zeroline=False, row=1, col=2, **ticks)
    fig.update_xaxes(range=[-0.5, ow - 0.5], autorange=False, row=1, col=2, **ticks)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain")
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True,
            "transition": {"duration": 0}}
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40, "b": 110},
        plot_bgcolor=STYLE.get("pending", "#e8e8e8"),
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0, "y": -0.1, "xanchor": "left",
                      "yanchor": "top", "showactive": False,
                      "buttons": [{"label": "Play", "method": "animate", "args": [None, play]},
                                  {"label": "Pause", "method": "animate",
                                   "args": [[None], {"mode": "immediate",
                                                     "frame": {"duration": 0, "redraw": False}}]}]}],
        sliders=[{"active": 0, "x": 0.2, "len": 0.8, "y": -0.1, "yanchor": "top",
                  "currentvalue": {"prefix": "pixels filled: ", "xanchor": "right"},
                  "steps": [{"label": str(e), "method": "animate",
                             "args": [[str(i)], {"mode": "immediate", "frame": {"duration": 0,
                                                                               "redraw": True}}]}
                            for i, e in enumerate(ends)]}])
    # Frames are plain dicts checked by the tests, not by Plotly's validators: validating
    # 60 frames took most of a second.
    spec = fig.to_dict()
    spec["frames"] = [{"data": [out_trace(e)], "traces": [1], "name": str(i),
                       "layout": {"shapes": [window(e)]}} for i, e in enumerate(ends)]
    return go.Figure(spec, _validate=False)
