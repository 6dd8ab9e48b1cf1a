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
_SMALL_CELL_BYTES = 10  # the same with uint8 customdata (maps and layers of at most 256)
MAX_TILES = 32  # a page of more tiles than this gets too small to read
# A page shows at least this many channels (all, when the layer has fewer), with every step-th
# pixel if need be: one huge channel per page hides what a layer does (its channels differ).
MIN_TILES = 8
FOCUS_CELLS = 10_000  # a zoomed-in map shows its zoomed part this finely (about 55 KB)
# Clickable maps carry one invisible SVG marker per pixel shown; browsers draw tens of
# thousands of them slowly, so a clickable map shows at most this many pixels.
MAX_MARKERS = 10_000
TILE_COLS = 8
ERROR_LABELS = ("cell ✓", "membrane ✓", "missed", "false")  # membrane missed / false membrane
ERROR_COLOURS = ("#f2f2f2", "#404040", "#e45756", "#4c78a8")
CLASS_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2",
                 "#ff9da6", "#9d755d", "#bab0ac")  # class k gets colour k (mod 10)
OVERLAY_SCALE = "Hot"  # Grad-CAM heat over a grey input


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
    >>> t = channel_tiling((512, 512, 16), max_bytes=900_000)  # 8 a page, not 1 at full detail
    >>> t.per_page, t.step
    (8, 7)
    """
    h, w, c = (int(v) for v in shape)
    cell = _SMALL_CELL_BYTES if _custom_dtype(h, w, c) == np.uint8 else _CELL_BYTES
    step = max(1, math.ceil(math.sqrt((h + h // 3 + 1) * (w + 1) * cell / max_bytes)))

    def fitting(step: int) -> int:
        th, tw = math.ceil(h / step), math.ceil(w / step)
        return int(max_bytes // ((th + max(1, th // 3)) * (tw + 1) * cell))

    while fitting(step) < min(c, MIN_TILES) and step < max(h, w):
        step += 1
    th = math.ceil(h / step)
    fits = max(1, fitting(step))
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


def _noted(title: str, step: int) -> str:
    """The title, saying so when only every ``step``-th pixel is shown."""
    if step == 1:
        return title
    return f"{title}<br>1 pixel in {step} shown" if title else f"1 pixel in {step} shown"


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


def _custom_dtype(h: int, w: int, channels: int):
    """The smallest unsigned type that holds every channel, row and column number (half the bytes
    of uint16 for maps and layers of at most 256)."""
    return np.uint8 if max(h, w, channels) <= 256 else np.uint16


def _tiles(a: np.ndarray, tiling: Tiling) -> tuple[np.ndarray, np.ndarray]:
    """The tiled values (NaN in the gaps) and their [channel, row, col], for channels_figure."""
    th, tw = tiling.tile
    g, vg = tiling.gap, tiling.vgap
    z = np.full((tiling.rows * (th + vg) - vg, tiling.cols * (tw + g) - g), np.nan, np.float32)
    # (rows, cols, 3); gaps hold 0, not -1: -1 is 0xFFFF, which base64 writes as "//8".
    custom = np.zeros(z.shape + (3,), _custom_dtype(tiling.h, tiling.w, tiling.channels))
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
    """An (H, W) map, or an (H, W, 3) RGB image in [0, 1], with true pixel coordinates on hover.

    ``layout.meta`` holds ``{"shape": [H, W], "step": step}``: the map's true size and which
    pixels are shown. ``box`` outlines a receptive field, ``marker`` circles one pixel, ``focus``
    zooms in on a box (the learner can zoom out with the toolbar). Maps too big
    for ``max_bytes`` are shown every ``step``-th pixel, and the title says so;
    hovering gives the exact value of each pixel shown. ``clickable`` lays an
    invisible marker on every pixel shown (at most :data:`MAX_MARKERS`): Plotly
    selects markers, not heatmap cells, so this is what lets a click or a drag
    (Streamlit's ``on_select``) name pixels.

    >>> image_figure(np.zeros((600, 600), np.float32), max_bytes=100_000).layout.title.text
    '1 pixel in 6 shown'
    """
    a = np.asarray(a, dtype=np.float32)
    rgb = a.ndim == 3 and a.shape[-1] == 3
    if a.ndim != 2 and not rgb:
        raise ValueError(f"image_figure draws (H, W) maps or (H, W, 3) images; got {a.shape}.")
    step = _step(a.shape[:2], max_bytes, per_cell=3 if rgb else (12 if clickable else 6),
                 clickable=clickable)
    # z (and, when clickable, the markers' colours) once more for x, y: what base64 makes of them
    while not rgb and step < max(a.shape) and \
            _json_bytes(a[::step, ::step]) * (2 if clickable else 1) * 1.5 > min(max_bytes, HARD_LIMIT):
        step += 1
    while rgb and step < max(a.shape) and _json_bytes(_rgb8(a[::step, ::step])) > min(max_bytes, HARD_LIMIT):
        step += 1
    scale = None if rgb else _scale(a[::step, ::step], diverging)
    if scale is not None:
        scale = (scale[0], scale[1] if zmin is None else zmin, scale[2] if zmax is None else zmax)
    return _image(a, step, scale=scale, title=title, colorbar=colorbar, box=box, marker=marker,
                  clickable=clickable, focus=focus, height=height)


def _step(shape, max_bytes: int, *, per_cell: float, clickable: bool) -> int:
    """The smallest stride that keeps an (H, W) map under ``max_bytes`` (and clickable maps
    under :data:`MAX_MARKERS` markers)."""
    h, w = shape
    step = max(1, math.ceil(math.sqrt(h * w * per_cell / max_bytes)))
    if clickable:
        step = max(step, math.ceil(math.sqrt(h * w / MAX_MARKERS)))
    while clickable and math.ceil(h / step) * math.ceil(w / step) > MAX_MARKERS:
        step += 1
    return step


def _image(a, step: int, *, scale, title, colorbar, box, marker, clickable, focus, height,
           hover_value: str = "%{z:.4g}", colorbar_extra: dict | None = None) -> go.Figure:
    """One build of :func:`image_figure`, showing every ``step``-th pixel.

    ``scale`` is ``(colorscale, zmin, zmax)``, or None for an (H, W, 3) RGB image.
    """
    shown = a[::step, ::step]
    rows = np.arange(0, a.shape[0], step, dtype=np.int16)
    cols = np.arange(0, a.shape[1], step, dtype=np.int16)
    hover = f"row %{{y}}, col %{{x}}: {hover_value}<extra></extra>"
    if scale is None:  # RGB: go.Image places pixel i at x0 + i * dx, so hover keeps true coordinates
        fig = go.Figure(go.Image(
            z=_rgb8(shown), x0=0, dx=step, y0=0, dy=step,
            hovertemplate="row %{y}, col %{x}: RGB %{z[0]}, %{z[1]}, %{z[2]} (of 255)<extra></extra>"))
    else:
        colours, lo, hi = scale
        fig = go.Figure(go.Heatmap(
            z=shown, x=cols, y=rows, colorscale=colours, zmin=lo, zmax=hi,
            showscale=colorbar is not None, colorbar={**_hbar(colorbar or ""), **(colorbar_extra or {})},
            hoverinfo="skip" if clickable else None, hovertemplate=None if clickable else hover))
    pad, note = 0, _noted(title, step)
    if focus is not None:
        pad = max(2, (focus.bottom - focus.top) // 4)
        r0, r1 = max(focus.top - pad, 0), min(focus.bottom + pad + 1, a.shape[0])
        c0, c1 = max(focus.left - pad, 0), min(focus.right + pad + 1, a.shape[1])
        fine = max(1, math.ceil(math.sqrt((r1 - r0) * (c1 - c0) / FOCUS_CELLS)))
        if fine < step and scale is not None:
            # The zoomed-in part more finely, over the coarse map: a small field would
            # otherwise fall between the pixels shown (and look empty).
            colours, lo, hi = scale
            fig.add_trace(go.Heatmap(
                z=a[r0:r1:fine, c0:c1:fine], x=np.arange(c0, c1, fine, dtype=np.int16),
                y=np.arange(r0, r1, fine, dtype=np.int16), colorscale=colours, zmin=lo, zmax=hi,
                showscale=False, hovertemplate=hover))
            note = (f"{title}<br>" if title else "") + (
                f"every pixel near the box, 1 in {step} elsewhere" if fine == 1 else
                f"1 pixel in {fine} near the box, 1 in {step} elsewhere")
    if clickable:
        yy, xx = np.meshgrid(rows, cols, indexing="ij")  # (h, w) each
        values = shown if shown.ndim == 2 else shown.mean(axis=-1)
        fig.add_trace(go.Scatter(
            x=xx.ravel(), y=yy.ravel(), mode="markers", showlegend=False,
            marker={"size": max(6, 2 * step) if step > 1 else 6, "opacity": 0,
                    "color": values.ravel()},
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
        fig.update_xaxes(range=[focus.left - pad - 0.5, focus.right + pad + 0.5])
        fig.update_yaxes(range=[focus.bottom + pad + 0.5, focus.top - pad - 0.5], autorange=False)
    fig.update_layout(title=_title(note), height=height, clickmode="event+select",
                      margin={"l": 10, "r": 10, "t": 60 if title or step > 1 else 30,
                              "b": 60 if colorbar is not None else 10},
                      plot_bgcolor="white",
                      meta={"shape": [int(a.shape[0]), int(a.shape[1])], "step": int(step)})
    return fig


def _rgb8(a: np.ndarray) -> np.ndarray:
    """(H, W, 3) floats in [0, 1] as the uint8 pixels a ``go.Image`` shows."""
    return np.clip(np.round(a * 255), 0, 255).astype(np.uint8)


def _discrete(colours) -> list:
    """A Plotly colour scale with one flat band per colour, for values 0 .. n - 1 (zmin -0.5)."""
    n, scale = len(colours), []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    return scale


def class_figure(classes, n_classes: int, *, title: str = "", names=None, clickable: bool = False,
                 max_bytes: int = MAX_BYTES, height: int = 340) -> go.Figure:
    """An (H, W) map of class indices (the arg-max of a softmax) in one colour per class.

    ``names`` labels the classes on the colour bar (default ``"class k"``); hover
    gives the true row, column and class of each pixel shown.

    >>> fig = class_figure(np.array([[0, 1], [2, 1]]), 3)
    >>> list(fig.data[0].colorbar.ticktext)
    ['class 0', 'class 1', 'class 2']
    """
    c = np.asarray(classes)
    if c.ndim != 2:
        raise ValueError(f"class_figure draws an (H, W) map of class indices; got {c.shape}.")
    if n_classes < 1 or (c.size and not 0 <= int(c.min()) <= int(c.max()) < n_classes):
        raise ValueError(f"Class indices must lie in 0 .. {n_classes - 1}.")
    names = list(names) if names is not None else [f"class {k}" for k in range(n_classes)]
    colours = [CLASS_COLOURS[k % len(CLASS_COLOURS)] for k in range(n_classes)]
    step = _step(c.shape, max_bytes, per_cell=2 + (8 if clickable else 0), clickable=clickable)
    return _image(c.astype(np.float32), step, scale=(_discrete(colours), -0.5, n_classes - 0.5),
                  title=title, colorbar="", box=None, marker=None, clickable=clickable, focus=None,
                  height=height, hover_value="class %{z}",
                  colorbar_extra={"tickvals": list(range(n_classes)), "ticktext": names})


def overlay_figure(image, heat, *, title: str = "", colorbar: str = "", zmin: float = 0.0,
                   zmax: float | None = None, opacity: float = 0.55, box: ReceptiveField | None = None,
                   max_bytes: int = MAX_BYTES // 2, height: int = 340) -> go.Figure:
    """A heat map (e.g. Seg-Grad-CAM in [0, 1]) laid over an (H, W) grey image of the same size.

    Both are shown every ``step``-th pixel when they are larger than ``max_bytes``
    allows; hover gives the true row and column and the exact heat value.

    >>> overlay_figure(np.zeros((4, 4)), np.ones((4, 4))).data[1].opacity
    0.55
    """
    img, h = np.asarray(image, np.float32), np.asarray(heat, np.float32)
    if img.ndim == 3:
        img = img.mean(axis=-1)  # (H, W): the overlay needs a grey background
    if img.shape != h.shape or h.ndim != 2:
        raise ValueError(f"The image {img.shape} and the heat map {h.shape} must be the same (H, W).")
    step = _step(h.shape, max_bytes, per_cell=12, clickable=False)
    rows = np.arange(0, h.shape[0], step, dtype=np.int16)
    cols = np.arange(0, h.shape[1], step, dtype=np.int16)
    shown = h[::step, ::step]
    top = float(np.nanmax(shown)) if zmax is None and shown.size else (zmax or 1.0)
    fig = go.Figure([
        go.Heatmap(z=img[::step, ::step], x=cols, y=rows, colorscale=STYLE["image_scale"],
                   showscale=False, hoverinfo="skip"),
        go.Heatmap(z=shown, x=cols, y=rows, colorscale=OVERLAY_SCALE, zmin=zmin,
                   zmax=top if top > zmin else zmin + 1.0, opacity=opacity, colorbar=_hbar(colorbar),
                   hovertemplate="row %{y}, col %{x}: %{z:.3g}<extra></extra>"),
    ])
    if box is not None:
        fig.add_shape(type="rect", x0=box.left - 0.5, x1=box.right + 0.5, y0=box.top - 0.5,
                      y1=box.bottom + 0.5, line={"color": STYLE["window"], "width": 2})
    _axes(fig)
    fig.update_layout(title=_title(_noted(title, step)), height=height,
                      margin={"l": 10, "r": 10, "t": 60, "b": 60}, plot_bgcolor="white")
    return fig


def figure_bytes(fig: go.Figure) -> int:
    """How many bytes of JSON the figure sends to the browser (what Streamlit serialises)."""
    import plotly.io as pio

    return len(pio.to_json(fig, validate=False))


def errors_figure(errors, *, title: str = "Prediction vs label",
                  max_bytes: int = MAX_BYTES) -> go.Figure:
    """The map of :func:`unetviz.inspection.membrane_errors` in four labelled colours."""
    e = np.asarray(errors, dtype=np.int8)
    step = max(1, math.ceil(math.sqrt(e.size * 2 / max_bytes)))
    n = len(ERROR_COLOURS)
    scale = _discrete(ERROR_COLOURS)
    fig = go.Figure(go.Heatmap(
        z=e[::step, ::step], x=np.arange(0, e.shape[1], step, dtype=np.int32),
        y=np.arange(0, e.shape[0], step, dtype=np.int32), colorscale=scale, zmin=-0.5,
        zmax=n - 0.5, colorbar={**_hbar(""), "tickvals": list(range(n)),
                                "ticktext": list(ERROR_LABELS)},
        hovertemplate="row %{y}, col %{x}: class %{z} (see the colour bar)<extra></extra>"))
    _axes(fig)
    fig.update_layout(title=_title(_noted(title, step)), height=360,  # room for slanted labels
                      margin={"l": 10, "r": 10, "t": 60, "b": 80}, plot_bgcolor="white")
    return fig
