"""Plotly builders for the inspector: tiled channels, filter grids, images with a box.

Many channels go into one ``go.Heatmap`` with NaN gaps between the tiles (far
cheaper to send and draw than one subplot per channel), and a layer with more
channels than fit :data:`MAX_BYTES` of figure data is split into pages. Maps
too big for one page are shown every ``step``-th pixel; hovering always gives
the true row and column. Builders return figures; they never render.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from unetviz.figures import STYLE
from unetviz.inspection import ReceptiveField, normalise_filters

MAX_BYTES = 1_250_000  # what a view is planned to take, below the 1.5 MB
HARD_LIMIT = 1_450_000  # what a built figure's JSON is checked against
_CELL_BYTES = 14  # float32 z + three uint16 customdata, base64 (4/3), a few escaped characters
MAX_TILES = 32  # a page of more tiles than this gets too small to read
TILE_COLS = 8
ERROR_LABELS = ("cell ✓", "membrane ✓", "missed", "false")  # membrane missed / false membrane
ERROR_COLOURS = ("#f2f2f2", "#404040", "#e45756", "#4c78a8")


@dataclass(frozen=True)
class Tiling:
    """How channels ``start .. start + count - 1`` of an (h, w, channels) map are laid out.

    Tiles are ``h // step`` x ``w // step`` cells (every ``step``-th pixel), in
    ``cols`` columns, with ``gap`` NaN cells between them.
    """

    h: int
    w: int
    channels: int  # in the whole layer
    start: int
    count: int
    per_page: int
    cols: int
    step: int = 1
    gap: int = 1
    vgap: int = 1  # rows of NaN between tile rows, room for the channel labels

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.cols)

    @property
    def pages(self) -> int:
        return math.ceil(self.channels / self.per_page)

    @property
    def tile(self) -> tuple[int, int]:
        return math.ceil(self.h / self.step), math.ceil(self.w / self.step)

    def locate(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The (channel, row, col) under the figure point ``(x, y)``, or None in a gap.

        >>> Tiling(4, 4, 2, 0, 2, 2, 2).locate(6, 1)
        (1, 1, 1)
        """
        th, tw = self.tile
        x, y = int(round(x)), int(round(y))
        tr, r = divmod(y, th + self.vgap)
        tc, c = divmod(x, tw + self.gap)
        index = tr * self.cols + tc
        if r >= th or c >= tw or tc >= self.cols or index >= self.count or x < 0 or y < 0:
            return None
        return self.start + index, r * self.step, c * self.step


def channel_tiling(shape, *, page: int = 0, max_bytes: int = MAX_BYTES) -> Tiling:
    """The tiling of page ``page`` of an (H, W, C) map, so that one page stays under ``max_bytes``.

    >>> t = channel_tiling((64, 64, 128))
    >>> t.per_page, t.pages, t.count
    (16, 8, 16)
    """
    h, w, c = (int(v) for v in shape)
    step = max(1, math.ceil(math.sqrt((h + h // 3 + 1) * (w + 1) * _CELL_BYTES / max_bytes)))
    th, tw = math.ceil(h / step), math.ceil(w / step)
    fits = max(1, int(max_bytes // ((th + max(1, th // 3)) * (tw + 1) * _CELL_BYTES)))
    per_page = min(c, fits, MAX_TILES)
    if TILE_COLS < per_page < c:
        per_page -= per_page % TILE_COLS  # pages of whole rows of tiles
    pages = math.ceil(c / per_page)
    if not 0 <= page < pages:
        raise ValueError(f"Page {page} does not exist: this layer has pages 0 to {pages - 1}.")
    start = page * per_page
    count = min(per_page, c - start)
    return Tiling(h, w, c, start, count, per_page, min(count, TILE_COLS), step, vgap=max(1, th // 3))


def _title(text: str) -> dict:
    """A title just above the plot, below the modebar's buttons."""
    return {"text": text, "font": {"size": STYLE["font"]}, "y": 1, "yref": "paper",
            "yanchor": "bottom", "x": 0, "xref": "paper", "pad": {"b": 8}}


def _hbar(title: str) -> dict:
    """A colour bar under the plot, so narrow columns keep their width for the map."""
    return {"orientation": "h", "y": -0.03, "yanchor": "top", "thickness": 10, "len": 1.0,
            "title": {"text": title, "side": "top"}, "tickfont": {"size": 10}}


def _axes(fig: go.Figure) -> None:
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")


def _scale(a: np.ndarray, diverging: bool | None):
    """(colorscale, zmin, zmax): grays for non-negative maps, red/blue around zero for signed."""
    lo, hi = (float(np.nanmin(a)), float(np.nanmax(a))) if a.size else (0.0, 1.0)
    if diverging is None:
        diverging = lo < 0
    if diverging:
        m = max(abs(lo), abs(hi)) or 1.0
        return STYLE["diverging_scale"], -m, m
    return STYLE["image_scale"], lo, (hi if hi > lo else lo + 1.0)


def channels_figure(act, tiling: Tiling, *, title: str = "", diverging: bool | None = None,
                    label: str = "ch") -> go.Figure:
    """The channels of ``act`` (H, W, C) that ``tiling`` selects, as one tiled heatmap.

    The colour scale spans the whole layer (every page alike). Hover shows the
    channel, the true row and column and the exact value. Should the figure's
    data still pass :data:`HARD_LIMIT` (values whose bytes encode to many escaped
    characters), every ``step + 1``-th pixel is shown instead, and the title says so.
    """
    a = np.asarray(act, dtype=np.float32)
    if a.ndim != 3:
        raise ValueError(f"channels_figure draws (H, W, C) maps; got {a.shape}.")
    z, custom = _tiles(a, tiling)
    while tiling.step < max(a.shape[:2]) and _json_bytes(z, custom) > HARD_LIMIT - 30_000:
        tiling = dataclasses.replace(tiling, step=tiling.step + 1)
        z, custom = _tiles(a, tiling)
    th, tw = tiling.tile
    notes = [{"x": (i % tiling.cols) * (tw + tiling.gap) + (tw - 1) / 2,
              "y": (i // tiling.cols) * (th + tiling.vgap) - 0.5, "text": f"{label} {tiling.start + i}",
              "showarrow": False, "yshift": 7, "font": {"size": 10}} for i in range(tiling.count)]
    scale, zmin, zmax = _scale(a, diverging)
    fig = go.Figure(go.Heatmap(
        z=z, customdata=custom, colorscale=scale, zmin=zmin, zmax=zmax, hoverongaps=False,
        colorbar={"title": {"text": "value", "side": "right"}, "thickness": 12},
        hovertemplate=f"{label} %{{customdata[0]}}, row %{{customdata[1]}}, col %{{customdata[2]}}"
                      "<br>value %{z:.4g}<extra></extra>"))
    _axes(fig)
    aspect = z.shape[0] / z.shape[1]
    note = f", 1 pixel in {tiling.step} shown" if tiling.step > 1 else ""
    fig.update_layout(  # one annotations list: add_annotation per tile is slow
        annotations=notes, title=_title(title + note),
        height=int(min(820, max(200, 700 * aspect + 90))),
        margin={"l": 10, "r": 10, "t": 70, "b": 10}, plot_bgcolor="white")
    return fig


def _json_bytes(*arrays) -> int:
    """What the arrays take in Plotly's JSON: base64, with each "/" escaped to six characters."""
    total = 0
    for a in arrays:
        b = base64.b64encode(np.ascontiguousarray(a).tobytes())
        total += len(b) + 5 * b.count(b"/")
    return total


def _tiles(a: np.ndarray, tiling: Tiling) -> tuple[np.ndarray, np.ndarray]:
    """The tiled values (NaN in the gaps) and their [channel, row, col], for channels_figure."""
    th, tw = tiling.tile
    g, vg = tiling.gap, tiling.vgap
    z = np.full((tiling.rows * (th + vg) - vg, tiling.cols * (tw + g) - g), np.nan, np.float32)
    # (rows, cols, 3); gaps hold 0, not -1: -1 is 0xFFFF, which base64 writes as "//8".
    custom = np.zeros(z.shape + (3,), np.uint16)
    rr, cc = np.mgrid[0:th, 0:tw] * tiling.step
    for i in range(tiling.count):
        ch = tiling.start + i
        top, left = (i // tiling.cols) * (th + vg), (i % tiling.cols) * (tw + g)
        z[top:top + th, left:left + tw] = a[::tiling.step, ::tiling.step, ch]
        custom[top:top + th, left:left + tw] = np.stack([np.full_like(rr, ch), rr, cc], -1)
    return z, custom


def filters_figure(kernel, *, mode: str = "layer", channel_start: int = 0, channel_count: int = 4,
                   filter_start: int = 0, filter_count: int = 16) -> go.Figure:
    """Filters of one conv layer: a block of tiles per input channel, one tile per filter.

    ``kernel`` is Keras' (f, f, C, K). Each channel's block holds the filters in
    rows of at most 8. ``mode`` "layer" scales the whole layer to [0, 1] (the
    tutorial's view), "zero" divides by the largest |weight| so zero is white.
    Hover gives the filter, the channel and the raw weight.
    """
    k = np.asarray(kernel, dtype=np.float32)
    if k.ndim != 4:
        raise ValueError(f"Filters have shape (f, f, C, K); got {k.shape}.")
    scaled = normalise_filters(k, mode=mode)
    f, _, n_ch, n_f = k.shape
    chans = range(channel_start, min(n_ch, channel_start + channel_count))
    filts = range(filter_start, min(n_f, filter_start + filter_count))
    cols = min(len(filts), TILE_COLS)
    per_block = math.ceil(len(filts) / cols)  # tile rows per channel
    z = np.full((len(chans) * per_block * (f + 1) - 1, cols * (f + 1) - 1), np.nan, np.float32)
    custom = np.full(z.shape + (5,), np.nan, np.float32)  # [filter, channel, row, col, weight]
    rr, cc = np.mgrid[0:f, 0:f].astype(np.float32)
    notes = []
    for i, c in enumerate(chans):
        for j, q in enumerate(filts):
            top, left = (i * per_block + j // cols) * (f + 1), (j % cols) * (f + 1)
            z[top:top + f, left:left + f] = scaled[:, :, c, q]
            custom[top:top + f, left:left + f] = np.stack(
                [np.full_like(rr, q), np.full_like(rr, c), rr, cc, k[:, :, c, q]], -1)
            notes.append({"x": left + (f - 1) / 2, "y": top - 0.5, "text": f"f{q}",
                          "showarrow": False, "yshift": 6, "font": {"size": 10}})
        notes.append({"x": -0.5, "y": i * per_block * (f + 1) + (f - 1) / 2, "text": f"ch {c}",
                      "showarrow": False, "xshift": -22, "font": {"size": 11}})
    fig = go.Figure(go.Heatmap(
        z=z, customdata=custom, colorscale=STYLE["diverging_scale"],
        zmin=0.0 if mode == "layer" else -1.0, zmax=1.0, hoverongaps=False,
        colorbar={"title": {"text": "0 = layer min, 1 = max" if mode == "layer"
                            else "weight / max |weight|", "side": "right"}, "thickness": 12},
        hovertemplate="filter %{customdata[0]}, channel %{customdata[1]}<br>"
                      "row %{customdata[2]}, col %{customdata[3]}<br>weight %{customdata[4]:.4g}"
                      "<br>shown as %{z:.3f}<extra></extra>"))
    _axes(fig)
    aspect = z.shape[0] / z.shape[1]
    fig.update_layout(annotations=notes, height=int(min(900, max(160, 600 * aspect + 50))),
                      margin={"l": 50, "r": 10, "t": 30, "b": 10}, plot_bgcolor="white")
    return fig


def image_figure(a, *, title: str = "", zmin=None, zmax=None, diverging: bool | None = False,
                 colorbar: str | None = None, box: ReceptiveField | None = None,
                 marker: tuple[int, int] | None = None, clickable: bool = False,
                 focus: ReceptiveField | None = None, max_bytes: int = MAX_BYTES,
                 height: int = 340) -> go.Figure:
    """An (H, W) map as a heatmap with true pixel coordinates on hover.

    ``box`` outlines a receptive field, ``marker`` circles one pixel, ``focus``
    zooms in on a box (the learner can zoom out with the toolbar). Maps too big
    for ``max_bytes`` are shown every ``step``-th pixel. ``clickable`` lays an
    invisible marker on every pixel: Plotly selects markers, not heatmap cells,
    so this is what lets a click (Streamlit's ``on_select``) name a pixel.
    """
    a = np.asarray(a, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"image_figure draws (H, W) maps; got {a.shape}.")
    step = max(1, math.ceil(math.sqrt(a.size * (12 if clickable else 6) / max_bytes)))
    # z (and, when clickable, the markers' colours) once more for x, y: what base64 makes of them
    while step < max(a.shape) and \
            _json_bytes(a[::step, ::step]) * (2 if clickable else 1) * 1.5 > HARD_LIMIT - 30_000:
        step += 1
    return _image(a, step, title=title, zmin=zmin, zmax=zmax, diverging=diverging,
                  colorbar=colorbar, box=box, marker=marker, clickable=clickable, focus=focus,
                  height=height)


def _image(a, step: int, *, title, zmin, zmax, diverging, colorbar, box, marker, clickable, focus,
           height) -> go.Figure:
    """One build of :func:`image_figure`, showing every ``step``-th pixel."""
    shown = a[::step, ::step]
    rows = np.arange(0, a.shape[0], step, dtype=np.int16)
    cols = np.arange(0, a.shape[1], step, dtype=np.int16)
    scale, lo, hi = _scale(shown, diverging)
    hover = "row %{y}, col %{x}: %{z:.4g}<extra></extra>"
    fig = go.Figure(go.Heatmap(
        z=shown, x=cols, y=rows, colorscale=scale,
        zmin=lo if zmin is None else zmin, zmax=hi if zmax is None else zmax,
        showscale=colorbar is not None, colorbar=_hbar(colorbar or ""),
        hoverinfo="skip" if clickable else None, hovertemplate=None if clickable else hover))
    if clickable:
        yy, xx = np.meshgrid(rows, cols, indexing="ij")  # (h, w) each
        fig.add_trace(go.Scatter(
            x=xx.ravel(), y=yy.ravel(), mode="markers", showlegend=False,
            marker={"size": 6, "opacity": 0, "color": shown.ravel()},
            hovertemplate=hover.replace("%{z", "%{marker.color")))
    if box is not None:
        fig.add_shape(type="rect", x0=box.left - 0.5, x1=box.right + 0.5, y0=box.top - 0.5,
                      y1=box.bottom + 0.5, line={"color": STYLE["window"], "width": 3})
    if marker is not None:
        fig.add_trace(go.Scatter(x=[marker[1]], y=[marker[0]], mode="markers", showlegend=False,
                                 hoverinfo="skip", marker={"size": 12, "symbol": "circle-open",
                                                           "color": STYLE["output"],
                                                           "line": {"width": 3}}))
    _axes(fig)
    if focus is not None:  # zoom to the box, a few pixels around it
        pad = max(2, (focus.bottom - focus.top) // 4)
        fig.update_xaxes(range=[focus.left - pad - 0.5, focus.right + pad + 0.5])
        fig.update_yaxes(range=[focus.bottom + pad + 0.5, focus.top - pad - 0.5], autorange=False)
    fig.update_layout(title=_title(title), height=height, clickmode="event+select",
                      margin={"l": 10, "r": 10, "t": 60 if title else 30,
                              "b": 60 if colorbar is not None else 10},
                      plot_bgcolor="white")
    return fig


def errors_figure(errors, *, title: str = "Prediction vs label") -> go.Figure:
    """The map of :func:`unetviz.inspection.membrane_errors` in four labelled colours."""
    e = np.asarray(errors, dtype=np.int8)
    step = max(1, math.ceil(math.sqrt(e.size * 2 / MAX_BYTES)))
    n = len(ERROR_COLOURS)
    scale = []
    for i, colour in enumerate(ERROR_COLOURS):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    fig = go.Figure(go.Heatmap(
        z=e[::step, ::step], x=np.arange(0, e.shape[1], step, dtype=np.int32),
        y=np.arange(0, e.shape[0], step, dtype=np.int32), colorscale=scale, zmin=-0.5,
        zmax=n - 0.5, colorbar={**_hbar(""), "tickvals": list(range(n)),
                                "ticktext": list(ERROR_LABELS)},
        hovertemplate="row %{y}, col %{x}: class %{z} (see the colour bar)<extra></extra>"))
    _axes(fig)
    fig.update_layout(title=_title(title), height=340,
                      margin={"l": 10, "r": 10, "t": 60, "b": 60}, plot_bgcolor="white")
    return fig
