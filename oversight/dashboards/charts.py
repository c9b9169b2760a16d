"""Plotly figures for the dashboards, built with plotly.graph_objects and sent as JSON.

Pages embed the JSON (``embed``) and static/etude/dashboards.js draws it with the plotly.js
the page loads once. The heatmap is sent compactly: scores as one byte per cell in plotly's own
base64 typed-array form, and the hover details as parallel typed arrays, deflated together into
one stream, that the script inflates and turns into hover text in the browser.
"""

import base64
import json
import sys
import zlib
from array import array

import plotly.graph_objects as go

from oversight.dashboards import selectors

# Competency colours from weak to strong (estimate 0 to 1).
COLOR_STOPS = ((0.0, (178, 34, 34)), (0.5, (240, 200, 60)), (1.0, (46, 139, 87)))
NO_DATA_COLOR = "#d9dde5"
BAND_COLOR = "rgba(47, 91, 211, 0.15)"
LINE_COLOR = "#2f5bd3"
MARKER_COLOR = "#b4441b"
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12}
# Heatmap scores run 0-100; a cell without an estimate holds 255, above zmax, so it takes the
# colour of the scale's top stop: grey.
SCORE_TOP = 100
ZMAX = SCORE_TOP + 1
ROW_HEIGHT = 16
ATTEMPT_DTYPES = {1: "u1", 2: "u2", 4: "u4"}
GAP_BELOW_COLUMNS = 80  # draw gaps between cells only while they stay visible
# zlib's default level: 9 saves under 1% of the leaf grid's hover details for three times the
# time (about 7 ms against 23 for 50,000 cells).
DEFLATE_LEVEL = 6

_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def embed(json_text):
    """JSON text made safe inside <script type="application/json"> (as Django's json_script)."""
    return json_text.translate(_JSON_ESCAPES)


def typed_array(values, dtype, shape=None):
    """Plotly's base64 typed-array spec for an array of small integers."""
    spec = {"dtype": dtype, "bdata": base64.b64encode(_little_endian(values)).decode()}
    if shape:
        spec["shape"] = shape
    return spec


def deflated_arrays(fields):
    """Several arrays of small integers as one zlib stream in base64, with each array's name
    and dtype in order: the browser inflates it with DecompressionStream("deflate") and cuts it
    into typed arrays. The arrays are laid end to end (not interleaved per cell): each one's
    values resemble each other, which is what deflate finds."""
    stream = b"".join(_little_endian(values) for _, _, values in fields)
    return {
        "encoding": "deflate",
        "bdata": base64.b64encode(zlib.compress(stream, DEFLATE_LEVEL)).decode(),
        "fields": [{"name": name, "dtype": dtype} for name, dtype, _ in fields],
    }


def _little_endian(values):
    """The bytes of an array in little-endian order, as JavaScript's typed arrays read them."""
    if isinstance(values, bytes | bytearray) or sys.byteorder == "little":
        return bytes(values)
    swapped = array(values.typecode, values)
    swapped.byteswap()
    return swapped.tobytes()


def competency_color(value):
    """The colour of a competency in [0, 1] on the dashboards' scale, as an rgb() string."""
    value = min(max(value, 0.0), 1.0)
    for (low, low_rgb), (high, high_rgb) in zip(COLOR_STOPS, COLOR_STOPS[1:], strict=False):
        if value <= high:
            share = (value - low) / (high - low)
            channels = (round(a + (b - a) * share) for a, b in zip(low_rgb, high_rgb, strict=True))
            return "rgb({}, {}, {})".format(*channels)
    return "rgb({}, {}, {})".format(*COLOR_STOPS[-1][1])


def _heatmap_colorscale():
    scale = [[stop * SCORE_TOP / ZMAX, "rgb({}, {}, {})".format(*rgb)] for stop, rgb in COLOR_STOPS]
    return [*scale, [(SCORE_TOP + 0.5) / ZMAX, NO_DATA_COLOR], [1.0, NO_DATA_COLOR]]


def _layout(**overrides):
    layout = {
        "template": "none",
        "font": FONT,
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
    }
    layout.update(overrides)
    return layout


def heatmap_payload(grid):
    """The heatmap as JSON text: {"figure": plotly figure, "cells": hover details}.

    The figure draws on its own (scores in its z). The cells' skills are the figure's x; their
    per-cell details (attempts, uncertainty, days since the last practice, days to the next
    review) travel deflated: at 200 agents x 252 skills they are 200 KB of bytes, about 270 KB
    as plain base64, and about 130 KB deflated."""
    rows, columns = grid.shape
    heatmap = go.Heatmap(
        z=typed_array(grid.scores, "u1", f"{rows},{columns}"),
        x=[key for _, key, _ in grid.skills],
        y=[f"{name} (simulation)" if simulated else name for _, name, simulated in grid.agents],
        zmin=0,
        zmax=ZMAX,
        colorscale=_heatmap_colorscale(),
        colorbar={
            "title": {"text": "competency"},
            "tickvals": [0, 25, 50, 75, 100],
            "ticktext": ["0%", "25%", "50%", "75%", "100%"],
            "len": min(1.0, 400 / max(rows * ROW_HEIGHT, 1)),
            "y": 1,
            "yanchor": "top",
        },
        hovertemplate="<b>%{y}</b><br>%{x}<extra></extra>",
        **({"xgap": 1, "ygap": 1} if columns < GAP_BELOW_COLUMNS else {}),
    )
    figure = go.Figure(
        heatmap,
        layout=_layout(
            height=max(320, rows * ROW_HEIGHT + 160),
            xaxis={"type": "category", "tickangle": -60, "automargin": True, "side": "top"},
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
        ),
    )
    cells = {
        "rows": rows,
        "columns": columns,
        "agents": [name for _, name, _ in grid.agents],
        "skillNames": [name for _, _, name in grid.skills],
        "details": deflated_arrays(
            (
                ("attempts", ATTEMPT_DTYPES[grid.attempts.itemsize], grid.attempts),
                ("uncertainty", "u1", grid.uncertainty),
                ("lastPracticed", "u1", grid.last_practiced),
                ("nextReview", "i1", grid.next_review),
            )
        ),
        "missing": selectors.NO_SCORE,
        "never": selectors.NEVER,
        "noReview": selectors.NO_REVIEW,
    }
    return f'{{"figure":{figure.to_json()},"cells":{json.dumps(cells, separators=(",", ":"))}}}'


def learning_curve(curve, strategies):
    """The estimate over time with a band of one uncertainty either side, and a dashed line
    where each strategy that reached the skill went live. Points travel as typed arrays: times
    in milliseconds since the epoch (a date axis reads them), values as 4-byte floats."""
    times = typed_array(array("d", (_milliseconds(moment) for moment, _, _ in curve)), "f8")
    estimates = typed_array(array("f", (estimate for _, estimate, _ in curve)), "f4")
    lower = typed_array(array("f", (max(0.0, e - spread) for _, e, spread in curve)), "f4")
    upper = typed_array(array("f", (min(1.0, e + spread) for _, e, spread in curve)), "f4")
    figure = go.Figure(
        [
            go.Scatter(
                x=times,
                y=lower,
                mode="lines",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
            ),
            go.Scatter(
                x=times,
                y=upper,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=BAND_COLOR,
                name="± uncertainty",
                hoverinfo="skip",
            ),
            go.Scatter(
                x=times,
                y=estimates,
                mode="lines+markers" if len(curve) <= 200 else "lines",
                line={"color": LINE_COLOR, "width": 2},
                marker={"size": 4},
                name="estimate",
                hovertemplate="%{x|%Y-%m-%d %H:%M}<br>%{y:.0%}<extra></extra>",
            ),
        ],
        layout=_layout(
            height=320,
            yaxis={
                "range": [0, 1],
                "tickformat": ".0%",
                "title": {"text": "competency"},
                "automargin": True,
            },
            xaxis={"type": "date", "automargin": True},
            legend={"orientation": "h", "x": 0, "y": -0.15, "yanchor": "top"},
            shapes=[_live_line(line.went_live_at) for line in strategies if line.went_live_at],
            annotations=[
                _live_label(line.went_live_at, f"#{line.strategy.pk} live")
                for line in strategies
                if line.went_live_at
            ],
        ),
    )
    return figure.to_json()


def _milliseconds(moment):
    return moment.timestamp() * 1000


def _live_line(moment):
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": _milliseconds(moment),
        "x1": _milliseconds(moment),
        "y0": 0,
        "y1": 1,
        "line": {"color": MARKER_COLOR, "width": 1.5, "dash": "dash"},
    }


def _live_label(moment, text):
    return {
        "x": _milliseconds(moment),
        "xref": "x",
        "y": 1,
        "yref": "paper",
        "yanchor": "bottom",
        "text": text,
        "showarrow": False,
        "font": {"color": MARKER_COLOR, "size": 11},
    }


def taxonomy_treemap(nodes):
    """The subtree as a treemap, each skill coloured by its agents' average competency (grey
    where no agent has one). Leaves have equal area."""
    parents = {node.parent_key for node in nodes}
    figure = go.Figure(
        go.Treemap(
            ids=[node.key for node in nodes],
            labels=[node.name for node in nodes],
            parents=[node.parent_key for node in nodes],
            values=[0 if node.key in parents else 1 for node in nodes],
            branchvalues="remainder",
            marker={
                "colors": [
                    NO_DATA_COLOR if node.average is None else competency_color(node.average)
                    for node in nodes
                ]
            },
            customdata=[
                "no estimates yet"
                if node.average is None
                else f"average {node.average:.0%} over {node.agents} agent{'s' if node.agents != 1 else ''}"
                for node in nodes
            ],
            hovertemplate="<b>%{label}</b><br>%{id}<br>%{customdata}<extra></extra>",
            textinfo="label",
        ),
        layout=_layout(height=420, margin={"l": 0, "r": 0, "t": 10, "b": 0}),
    )
    return figure.to_json()
