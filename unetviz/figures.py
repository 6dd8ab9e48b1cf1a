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
    "out": STYLE["output"],
}
_KIND_LABEL = {
    "InputLayer": "input", "Conv2D": "convolution", "MaxPooling2D": "max pool 2x2",
    "UpSampling2D": "up-sample 2x2", "Conv2DTranspose": "transposed convolution (up 2x)",
    "Concatenate": "concatenation", "out": "output",
}
_ROW_GAP = 1.0  # vertical distance between the levels of the U (data units)
_GAP = 0.14  # horizontal space between boxes
_DENSE = 20  # with more boxes than this, channel labels alternate between two heights
_LABEL_LIFT = 0.14


def _drawn(specs: list[LayerSpec]) -> list[LayerSpec]:
    """The layers that get a box: batch norm and activation fold into their conv."""
    return [s for s in specs if s.kind not in ("BatchNormalization", "Activation")]


def unet_diagram(specs: list[LayerSpec], *, highlight: str | None = None,
                 height: int | None = None) -> go.Figure:
    """The U: one box per layer, the encoder going down, the decoder coming up.

    Each row is one level of the U, labelled with its feature-map size; a box's
    height follows that size and its width its channels (printed above it). Red
    arrows are 2x2 poolings, green ones up-samplings, dashed brown lines the skip
    connections. Hovering a box shows its shape and parameter formula.
    ``highlight`` outlines one layer by name (a batch norm or activation
    highlights its convolution). ``height`` defaults to one that fits the depth.

    Examples
    --------
    >>> from unetviz.config import PRESETS, layer_specs
    >>> fig = unet_diagram(layer_specs(PRESETS["seed-simple"]), highlight="enc1_pool")
    >>> sum(len(t.x) for t in fig.data if t.type == "bar")  # one box per drawn layer
    11
    """
    drawn = _drawn(specs)
    folded = {}  # conv name -> the batch norm / activation layers drawn inside its box
    for s in specs:
        if s.kind in ("BatchNormalization", "Activation"):
            folded.setdefault(_folded(s.name), []).append(s)
    target = _folded(highlight) if highlight else None
    rows = max(_row(s) for s in drawn)
    max_ch = max(s.shape[-1] for s in drawn)

    # Lay the boxes out left to right; each row of the U sits _ROW_GAP below the last.
    boxes, x = {}, 0.0
    for i, s in enumerate(drawn):
        row = _row(s)
        if i and row != _row(drawn[i - 1]):
            x += 2 * _GAP  # room for the pooling / up-sampling arrow
        w = 0.3 + 0.55 * float(np.log1p(s.shape[-1]) / np.log1p(max_ch))
        h = 0.28 + 0.5 * 0.5 ** (row - 1)
        y = -(row - 1) * _ROW_GAP
        boxes[s.name] = (x, x + w, y - h / 2, y + h / 2)
        x += w + _GAP

    traces = []
    def group_of(s):  # the legend entry a box belongs to; other Keras layers get their own
        return "out" if s.name == "out" else s.kind

    for kind in list(_KIND_LABEL) + sorted({group_of(s) for s in drawn} - set(_KIND_LABEL)):
        group = [s for s in drawn if group_of(s) == kind]
        if not group:
            continue
        x0, x1, y0, y1 = (np.array([boxes[s.name][j] for s in group], np.float32) for j in range(4))
        traces.append(dict(
            type="bar", x=(x0 + x1) / 2, y=y1 - y0, base=y0, width=x1 - x0,
            name=_KIND_LABEL.get(kind, kind),
            marker={"color": _KIND_COLOUR.get(kind, "#bab0ac"), "line": {"color": "white", "width": 1}},
            customdata=[[s.name, s.kind, _shape_text(s.shape), f"{s.params:,}", _formula_text(s),
                         _folded_text(folded.get(s.name, []))] for s in group],
            hovertemplate="<b>%{customdata[0]}</b> (%{customdata[1]})%{customdata[5]}"
                          "<br>output %{customdata[2]}<br>%{customdata[3]} parameters"
                          "<br>%{customdata[4]}<extra></extra>"))
    # Channels above every box; a deep U staggers them so neighbours do not overlap.
    lift = _LABEL_LIFT if len(drawn) > _DENSE else 0.0
    traces.append(dict(
        type="scatter", x=np.array([(boxes[s.name][0] + boxes[s.name][1]) / 2 for s in drawn], np.float32),
        y=np.array([boxes[s.name][3] + 0.06 + lift * (i % 2) for i, s in enumerate(drawn)],
                   np.float32),
        text=[str(s.shape[-1]) for s in drawn], mode="text", textposition="top center",
        textfont={"size": 11, "color": "#333333"}, hoverinfo="skip", showlegend=False))
    has_skips = any(s.kind == "Concatenate" for s in drawn)
    for label, colour, dash, shown in [("pool: size / 2", STYLE["pool"], "solid", rows > 1),
                                       ("up-sample: size x 2", STYLE["up"], "solid", rows > 1),
                                       ("skip connection", STYLE["skip"], "dash", has_skips)]:
        if shown:
            traces.append(dict(type="scatter", x=[None], y=[None], mode="lines", name=label,
                                     line={"color": colour, "width": 2, "dash": dash}))

    shapes, notes = _skip_lines(drawn, boxes, lift)
    links, arrows = _arrows(drawn, boxes)
    traces.append(links)
    notes += arrows
    if target in boxes:
        x0, x1, y0, y1 = boxes[target]
        shapes.append({"type": "rect", "x0": x0 - 0.04, "x1": x1 + 0.04, "y0": y0 - 0.04,
                       "y1": y1 + 0.04, "line": {"color": "black", "width": 3}})
    sizes = {}
    for s in drawn:
        sizes.setdefault(_row(s), s.shape)
    span = max(x, 12.0)  # a shallow U keeps box proportions and sits in the middle
    # Plain dicts, checked once by go.Figure: adding arrows one call at a time took half a second.
    layout = dict(
        shapes=shapes, annotations=notes, barmode="overlay", hovermode="closest", bargap=0,
        height=height or 170 + 95 * rows, plot_bgcolor="white",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"visible": False, "range": [x / 2 - span / 2 - 0.1, x / 2 + span / 2]},
        yaxis={"tickvals": [-(r - 1) * _ROW_GAP for r in sizes], "showgrid": False,
               "zeroline": False, "ticktext": [_row_label(shape, r) for r, shape in sizes.items()],
               "range": [-(rows - 1) * _ROW_GAP - 0.55, 0.8 + lift], "fixedrange": True,
               "tickfont": {"size": 12, "color": "#333333"}},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0, "font": {"size": 11}},
        title={"text": f"{sum(s.params for s in specs):,} parameters; numbers over boxes: channels",
               "font": {"size": 12}, "x": 0.01, "y": 0.99, "yanchor": "top"})
    return go.Figure(traces, layout)


def _arrows(drawn: list[LayerSpec], boxes: dict) -> tuple[dict, list[dict]]:
    """Links between consecutive boxes: a grey trace along the rows, and red arrows down to a
    pooling and green ones up to an up-sampling."""
    xs, ys, notes = [], [], []
    for prev, s in zip(drawn, drawn[1:]):
        px1, py = boxes[prev.name][1], sum(boxes[prev.name][2:]) / 2
        sx0, sy = boxes[s.name][0], sum(boxes[s.name][2:]) / 2
        if _row(s) == _row(prev):
            xs += [px1, sx0, np.nan]
            ys += [py, sy, np.nan]
            continue
        colour = STYLE["pool"] if _row(s) > _row(prev) else STYLE["up"]
        notes.append({"x": sx0, "y": sy, "ax": px1, "ay": py, "xref": "x", "yref": "y",
                      "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 2, "arrowsize": 1,
                      "arrowwidth": 2.5, "arrowcolor": colour, "text": ""})
    links = dict(type="scatter", x=np.array(xs, np.float32), y=np.array(ys, np.float32),
                 mode="lines+markers", hoverinfo="skip", showlegend=False,
                 line={"color": "#999999", "width": 1},
                 marker={"symbol": "arrow", "angleref": "previous", "size": 7, "color": "#999999",
                         "opacity": [0, 1, 0] * (len(xs) // 3)})
    return links, notes


def _skip_lines(drawn: list[LayerSpec], boxes: dict, lift: float) -> tuple[list, list]:
    """Dashed lines over the top of a row, from an encoder block to the concat that reads it."""
    shapes, notes = [], []
    for s in drawn:
        if s.kind != "Concatenate":
            continue
        src, dst = boxes[_folded(s.inputs[0])], boxes[s.name]
        xa, xb = (src[0] + src[1]) / 2, (dst[0] + dst[1]) / 2
        top = max(src[3], dst[3]) + 0.26 + lift  # above the channel labels
        end = dst[3] + 0.16 + lift
        shapes.append({"type": "path", "path": f"M {xa},{src[3] + 0.2 + lift} L {xa},{top} L {xb},{top} "
                                               f"L {xb},{end + 0.04}",
                       "line": {"color": STYLE["skip"], "width": 1.5, "dash": "dash"}})
        notes.append({"x": xb, "y": end, "ax": xb, "ay": end + 0.06, "xref": "x", "yref": "y",
                      "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 2,
                      "arrowwidth": 1.5, "arrowcolor": STYLE["skip"], "text": ""})
        notes.append({"x": (xa + xb) / 2, "y": top, "text": f"skip: copy {_folded(s.inputs[0])}",
                      "showarrow": False, "yshift": 7, "font": {"size": 10, "color": STYLE["skip"]}})
    return shapes, notes


def _row_label(shape, row: int) -> str:
    if shape[0] is None:
        return "full size" if row == 1 else f"1/{2 ** (row - 1)} size"
    return f"{shape[0]}x{shape[1]}"


def _formula_text(s: LayerSpec) -> str:
    """The parameter formula for the hover, when the spec knows its filters (a spec read back
    from a loaded model may not)."""
    return "" if s.kind.startswith("Conv") and not s.filters else s.formula


def _folded_text(layers: list[LayerSpec]) -> str:
    """The hover note for batch norm / activation layers drawn inside a conv's box."""
    if not layers:
        return ""
    return "<br>then " + ", then ".join(
        f"batch norm ({s.params:,} params)" if s.kind == "BatchNormalization"
        else s.activation or s.kind for s in layers)


def _row(s: LayerSpec, depth: int | None = None) -> int:
    """Vertical position: 1 at the top of the U, depth + 1 at the bottom (``depth`` is unused)."""
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


# ---------------------------------------------------------------- channels, pooling, skips

STYLE.setdefault("empty_cell", "#e8e8e8")  # cells of an output not computed yet (as "pending")


def heatmap_row(arrays, *, titles=None, diverging: bool = False, shared_scale: bool = False,
                height: int = 260, show_values: bool | None = None, windows=None,
                cell_font: int | None = None, zrange=None, colorbar: bool = False) -> go.Figure:
    """Several (H, W) maps side by side in one figure, e.g. the channels of a feature map.

    ``windows`` is one ``(top, left, rows, cols)`` outline (or None) per map.
    Each map gets its own colour range unless ``shared_scale`` (one range for
    all) or ``zrange`` (a fixed ``(low, high)``); diverging maps are centred on
    zero. Cells still NaN (an output being filled in) show as light grey.
    ``colorbar`` adds a colour scale beside the last map. Numbers are printed on
    maps small enough to read them (``show_values`` forces them on or off).

    >>> len(heatmap_row([np.eye(3), np.ones((3, 3))], titles=["a", "b"]).data)
    2
    """
    traces, layout = _row_parts(arrays, titles=titles, diverging=diverging,
                                shared_scale=shared_scale, height=height, show_values=show_values,
                                windows=windows, cell_font=cell_font, zrange=zrange,
                                colorbar=colorbar)
    return go.Figure(data=traces, layout=layout)


def _row_parts(arrays, *, titles, diverging, shared_scale, height, show_values, windows,
               cell_font, zrange, colorbar) -> tuple[list[dict], dict]:
    """:func:`heatmap_row`'s traces and layout as plain dicts (cheap to make once per frame)."""
    maps = [np.asarray(a, dtype=np.float32) for a in arrays]
    if not maps or any(a.ndim != 2 for a in maps):
        raise ValueError("heatmap_row draws a non-empty list of (H, W) arrays.")
    n = len(maps)
    titles = list(titles or [""] * n)
    finite = np.concatenate([a[np.isfinite(a)] for a in maps])
    big = float(np.abs(finite).max()) if finite.size else 1.0
    lo_all, hi_all = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    gap = min(0.04, 0.5 / n)
    width = (1 - gap * (n - 1)) / n
    # Panels share the page's width, so numbers fit only on smaller maps than matrix_heatmap's.
    labelled = {1: STYLE["max_labelled_cells"], 2: 12}.get(n, 9)
    # One layout dict built at once: far quicker than make_subplots plus per-axis updates.
    layout = {"height": height, "margin": {"l": 5, "r": 5, "t": 30, "b": 5},
              "plot_bgcolor": STYLE["empty_cell"], "shapes": []}
    traces = []
    for i, a in enumerate(maps):
        ref = "" if i == 0 else str(i + 1)
        f = a[np.isfinite(a)]
        if diverging:
            m = (big if shared_scale else (float(np.abs(f).max()) if f.size else 1.0)) or 1.0
            zmin, zmax, scale = -m, m, STYLE["diverging_scale"]
        else:
            zmin, zmax = (lo_all, hi_all) if shared_scale else (
                (float(f.min()), float(f.max())) if f.size else (0.0, 1.0))
            if zrange is not None:
                zmin, zmax = zrange
            scale = STYLE["image_scale"]
        trace = {"type": "heatmap", "z": a, "colorscale": scale, "zmin": zmin, "zmax": zmax,
                 "showscale": colorbar and i == n - 1, "xaxis": f"x{ref}", "yaxis": f"y{ref}",
                 "colorbar": {"thickness": 14, "len": 0.9},
                 "hovertemplate": "row %{y}, col %{x}: %{z:.4g}<extra></extra>"}
        if max(a.shape) <= STYLE["max_labelled_cells"]:
            trace.update(xgap=1, ygap=1)
        whole = bool(np.all(np.mod(f, 1) == 0))  # "0.25" needs more room than "3"
        fits = max(a.shape) <= (labelled if whole else labelled * 2 // 3)
        if show_values or (show_values is None and fits):
            text = np.vectorize(_fmt, otypes=[object])(np.nan_to_num(a))
            text[~np.isfinite(a)] = ""
            trace.update(text=text, texttemplate="%{text}",
                         textfont={"size": cell_font or STYLE["cell_font"]})
        traces.append(trace)
        x0 = i * (width + gap)
        # Fixed ranges: a map still being filled in (NaN cells) keeps its full size. The title
        # is the x axis's, on top, so it stays on the map when the map shrinks to fit.
        layout[f"xaxis{ref}"] = {"domain": [x0, x0 + width], "anchor": f"y{ref}", "side": "top",
                                 "title": {"text": titles[i], "standoff": 4,
                                           "font": {"size": STYLE["font"]}},
                                 "range": [-0.5, a.shape[1] - 0.5],
                                 "constrain": "domain", "showgrid": False, "zeroline": False,
                                 "showticklabels": False, "ticks": ""}
        layout[f"yaxis{ref}"] = {"anchor": f"x{ref}", "range": [a.shape[0] - 0.5, -0.5],
                                 "scaleanchor": f"x{ref}", "constrain": "domain",
                                 "showgrid": False, "zeroline": False, "showticklabels": False,
                                 "ticks": ""}
        if windows is not None and windows[i] is not None:
            top, left, rows, cols = windows[i]
            layout["shapes"].append({"type": "rect", "xref": f"x{ref}", "yref": f"y{ref}",
                                     "x0": left - 0.5, "x1": left + cols - 0.5, "y0": top - 0.5,
                                     "y1": top + rows - 0.5,
                                     "line": {"color": STYLE["window"], "width": 3}})
    return traces, layout


def heatmap_row_animation(frames, *, animated, windows=None, titles=None, zrange=None,
                          labels=None, frame_ms: int = 500, height: int = 360,
                          **row) -> go.Figure:
    """:func:`heatmap_row` played as Plotly frames, with Play/Pause and a slider under it.

    ``frames`` is a list of frames, each a list of (H, W) maps; ``windows`` one
    list of outlines per frame. Only the maps at indices ``animated`` change
    between frames (the others are sent once). ``zrange`` fixes the grey scale
    (default: the last frame's range), so colours mean the same in every frame.
    ``labels`` names each frame on the slider. The browser does the timing.

    >>> fig = heatmap_row_animation([[np.eye(2), np.full((1, 1), np.nan)],
    ...                              [np.eye(2), np.ones((1, 1))]], animated=[1])
    >>> len(fig.frames), fig.frames[1].traces
    (2, (1,))
    """
    if not frames:
        raise ValueError("An animation needs at least one frame.")
    windows = windows or [None] * len(frames)
    if zrange is None and not row.get("diverging"):
        last = np.concatenate([np.asarray(a, np.float32).ravel() for a in frames[-1]])
        last = last[np.isfinite(last)]
        zrange = (float(last.min()), float(last.max())) if last.size else (0.0, 1.0)
    kw = {"titles": titles, "diverging": False, "shared_scale": False, "height": height,
          "show_values": None, "cell_font": None, "colorbar": False, **row, "zrange": zrange}
    parts = [_row_parts(maps, windows=win, **kw) for maps, win in zip(frames, windows)]
    traces, layout = parts[0]
    labels = labels or [str(i + 1) for i in range(len(frames))]
    # Frames carry only what changes; Plotly merges them into the traces already drawn, and
    # small frames validate and send far faster.
    changing = ("type", "z", "text", "texttemplate", "textfont")
    go_frames = [{"name": str(i), "traces": list(animated),
                  "data": [{k: t[j][k] for k in changing if k in t[j]} for j in animated],
                  "layout": {"shapes": lay["shapes"]}}
                 for i, (t, lay) in enumerate(parts)]
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True,
            "transition": {"duration": 0}}
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}
    layout["margin"] = {**layout["margin"], "b": 90}
    layout["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0, "y": 0, "xanchor": "left",
        "yanchor": "top", "pad": {"t": 30}, "showactive": False,
        "buttons": [{"label": "Play", "method": "animate", "args": [None, play]},
                    {"label": "Pause", "method": "animate",
                     "args": [[None], {"mode": "immediate", "frame": {"duration": 0,
                                                                      "redraw": False}}]}]}]
    layout["sliders"] = [{"active": 0, "x": 0.22, "len": 0.78, "y": 0, "yanchor": "top",
                          "pad": {"t": 20}, "currentvalue": {"prefix": "step "},
                          "steps": [{"label": lab, "method": "animate", "args": [[str(i)], still]}
                                    for i, lab in enumerate(labels)]}]
    return go.Figure(data=traces, layout=layout, frames=go_frames)


def _oblique(x, y, z):
    """Project 3D box corners onto the page: depth runs up and to the right."""
    return np.asarray(x) + 0.45 * np.asarray(z), np.asarray(y) + 0.3 * np.asarray(z)


def _box(x: float, y: float, z: float, w: float, h: float, d: float, colour: str,
         opacity: float = 0.8) -> list[dict]:
    """Scatter traces for a box's front, top and right faces; corner (x, y, z), size (w, h, d)."""
    faces = [  # each face as (x, y, z) corner lists
        ([x, x + w, x + w, x], [y, y, y + h, y + h], [z, z, z, z]),
        ([x, x + w, x + w, x], [y + h, y + h, y + h, y + h], [z, z, z + d, z + d]),
        ([x + w, x + w, x + w, x + w], [y, y + h, y + h, y], [z, z, z + d, z + d]),
    ]
    traces = []
    for fx, fy, fz in faces:
        px, py = _oblique(fx + fx[:1], fy + fy[:1], fz + fz[:1])
        traces.append({"type": "scatter", "x": px.astype(np.float32), "y": py.astype(np.float32),
                       "fill": "toself", "fillcolor": colour, "opacity": opacity,
                       "line": {"color": "white", "width": 1}, "mode": "lines",
                       "hoverinfo": "skip", "showlegend": False})
    return traces


def _merge_faces(traces: list[dict]) -> list[dict]:
    """Join consecutive same-colour faces into one trace (None between polygons): fewer traces."""
    merged: list[dict] = []
    for t in traces:
        last = merged[-1] if merged else None
        if last and (last["fillcolor"], last["opacity"]) == (t["fillcolor"], t["opacity"]):
            last["x"] = np.concatenate([last["x"], [np.nan], t["x"]]).astype(np.float32)
            last["y"] = np.concatenate([last["y"], [np.nan], t["y"]]).astype(np.float32)
        else:
            merged.append(dict(t))
    return merged


def conv_2d_vs_3d(depth: int, filter_depth: int, out_depth: int, *, size: int = 8, f: int = 3,
                  height: int = 270) -> go.Figure:
    """A schematic: a multi-channel 2D convolution beside a 3D convolution.

    Left, an (size, size, depth) stack of channels and one (f, f, depth) filter
    that spans every channel, giving one (size, size) map. Right, a volume
    ``depth`` deep and an (f, f, filter_depth) filter that also slides along
    depth, giving ``out_depth`` slices (the caller computes it).

    >>> isinstance(conv_2d_vs_3d(5, 3, 3), go.Figure)
    True
    """
    side, fs, dz = 4.0, 4.0 * f / size, 0.6  # drawing units: map side, filter side, one slice
    reach = side + 0.45 * 8 * dz  # the widest a box gets (8 deep), so layouts do not jump
    x_out, x0 = reach + 2.2, 2 * reach + 5.0  # left output, start of the right half
    traces = []
    # Left: channels as separate slabs, drawn back to front, and a filter spanning them all.
    for c in reversed(range(depth)):
        traces += _box(0, 0, c * dz, side, side, dz * 0.7, STYLE["input"], 0.55)
    traces += _box(0, side - fs, 0, fs, fs, depth * dz - dz * 0.3, STYLE["window"], 0.8)
    traces += _box(x_out, 0, 0, side, side, dz * 0.7, STYLE["output"], 0.85)
    # Right: one solid volume; the filter covers only part of the depth.
    traces += _box(x0, 0, 0, side, side, depth * dz, STYLE["input"], 0.55)
    traces += _box(x0, side - fs, 0, fs, fs, filter_depth * dz, STYLE["window"], 0.8)
    traces += _box(x0 + x_out, 0, 0, side, side, out_depth * dz, STYLE["output"], 0.85)
    top = side + 0.3 * 8 * dz
    plural = "s" if depth > 1 else ""
    notes = [
        (side / 2, f"{size}x{size} image, {depth} channel{plural}<br>"
                   f"filter {f}x{f}, {depth} channel{plural}"),
        (x_out + side / 2, f"one {size}x{size} map<br>(slides along x, y only)"),
        (x0 + side / 2, f"{size}x{size}x{depth} volume<br>3D filter {f}x{f}x{filter_depth}"),
        (x0 + x_out + side / 2, f"{size}x{size}x{out_depth} volume<br>(slides along depth too)"),
    ]
    notes_font = {"size": STYLE["font"] - 1}
    annotations = [{"x": x, "y": -0.4, "text": text, "showarrow": False, "yanchor": "top",
                    "font": notes_font} for x, text in notes]
    annotations += [{"x": xs + x_out - 0.3, "y": side / 2, "ax": xs + reach + 0.2, "ay": side / 2,
                     "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "showarrow": True,
                     "arrowhead": 2, "arrowwidth": 3, "arrowsize": 1.2, "text": ""}
                    for xs in (0.0, x0)]
    annotations += [{"x": x, "y": top + 0.6, "text": text, "showarrow": False,
                     "font": {"size": STYLE["font"] + 1}}
                    for x, text in ((x_out / 2 + reach / 2, "<b>2D convolution, many channels</b>"),
                                    (x0 + x_out / 2 + reach / 2, "<b>3D convolution</b>"))]
    layout = {"height": height, "margin": {"l": 5, "r": 5, "t": 5, "b": 5},
              "plot_bgcolor": "white", "annotations": annotations,
              "xaxis": {"visible": False, "range": [-0.5, x0 + x_out + reach + 0.3]},
              "yaxis": {"visible": False, "range": [-2.2, top + 1.2], "scaleanchor": "x"}}
    fig = go.Figure(data=_merge_faces(traces), layout=layout)
    return fig


# ---------------------------------------------------------------- signed responses

STYLE.setdefault("pending", "#e8e8e8")  # background of output cells not computed yet


def edge_map(a, *, title: str = "", positive: str = "positive", negative: str = "negative",
             height: int = 360, limit: float | None = None) -> go.Figure:
    """A signed response map on the diverging scale, with a colour bar below it saying in words
    what blue and red mean (for example "lighter below" and "lighter above").

    The scale is centred on zero, from ``-limit`` to ``limit`` (default: the largest ``|value|``).

    >>> fig = edge_map(np.array([[-1.0, 0.0], [0.0, 2.0]]), positive="up", negative="down")
    >>> fig.data[0].colorbar.title.text
    'blue: down<br>red: up'
    """
    a = np.asarray(a, dtype=np.float32)
    finite = a[np.isfinite(a)]
    m = float(limit) if limit else (float(np.abs(finite).max()) if finite.size else 1.0) or 1.0
    fig = matrix_heatmap(a, title=title, diverging=True, zmin=-m, zmax=m, height=height,
                         colorbar=True)
    fig.update_traces(colorbar={"orientation": "h", "y": -0.04, "yanchor": "top", "len": 1.0,
                                "thickness": 10, "tickvals": [-m, 0, m],
                                "ticktext": [f"-{_fmt(m)}", "0", f"+{_fmt(m)}"],
                                "title": {"text": f"blue: {negative}<br>red: {positive}",
                                          "side": "bottom", "font": {"size": STYLE["font"] - 1}}})
    fig.update_layout(margin={"b": 85})
    return fig


def partial_heatmap(a, *, title: str = "", diverging: bool = False, zmin=None, zmax=None,
                    height: int = 320) -> go.Figure:
    """:func:`matrix_heatmap` of a map being filled in: NaN cells stay blank, axes stay full size.

    >>> fig = partial_heatmap(np.array([[1.0, np.nan], [np.nan, np.nan]]))
    >>> list(fig.layout.xaxis.range)
    [-0.5, 1.5]
    """
    a = np.asarray(a, dtype=np.float32)
    fig = matrix_heatmap(a, title=title, diverging=diverging, zmin=zmin, zmax=zmax, height=height)
    h, w = a.shape
    ticks = {"dtick": 1} if max(h, w) <= STYLE["max_labelled_cells"] else {}
    fig.update_xaxes(range=[-0.5, w - 0.5], autorange=False, **ticks)
    fig.update_yaxes(range=[h - 0.5, -0.5], autorange=False, **ticks)
    fig.update_layout(plot_bgcolor=STYLE["pending"])  # cells not computed yet show this grey
    return fig
