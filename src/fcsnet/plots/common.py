"""Helpers shared by the figure modules."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fcsnet.errors import InputError

# Colours of communities 1, 2, ... (tab10 without grey, then tab20's light shades).
COMMUNITY_COLOURS = [
    colour for index, colour in enumerate(matplotlib.colormaps["tab10"].colors) if index != 7
] + list(matplotlib.colormaps["tab20"].colors[1::2])
UNASSIGNED_COLOUR = "#b0b0b0"
CASE_COLOUR = "#c0392b"
CONTROL_COLOUR = "#2471a3"


def community_colour(community: int) -> tuple:
    """Return the colour of community ``community`` (numbered from 1)."""
    return COMMUNITY_COLOURS[(int(community) - 1) % len(COMMUNITY_COLOURS)]


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def panel_grid(n_panels: int, max_columns: int = 3) -> tuple[int, int]:
    """Return (rows, columns) of a grid with room for ``n_panels`` panels."""
    n_columns = max(1, min(max_columns, n_panels))
    return max(1, math.ceil(n_panels / n_columns)), n_columns


def empty_figure(message: str, width: float = 6, height: float = 3) -> Figure:
    """Return a figure that only states ``message``, for stages with no result."""
    figure = new_figure(width, height)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=11)
    return figure


def require_columns(table, columns, name: str) -> None:
    """Raise InputError naming the table when it lacks any of ``columns``."""
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise InputError(f"{name} lacks the columns {missing}; rerun the step that writes it")


def save_figure(figure: Figure, path: str | Path, dpi: int = 150) -> None:
    """Write ``figure`` to ``path`` (format from the suffix), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
    )
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=dpi)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
