"""Quality control counts."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from fcsnet.plots.common import empty_figure, new_figure


def plot_qc_counts(summary: pd.DataFrame) -> Figure:
    """Draw the QC summary as horizontal bars, one panel per count column.

    The first non-numeric column names the rows (for example the QC step or
    reason); every numeric column becomes one panel with its value printed
    beside each bar. A summary without a text column is drawn as one bar per
    numeric column.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``qc/qc_summary.tsv``.
    """
    if summary.empty:
        return empty_figure("The QC summary is empty.")
    numeric = [c for c in summary.columns if pd.api.types.is_numeric_dtype(summary[c])]
    text = [c for c in summary.columns if c not in numeric]
    if not numeric:
        return empty_figure("The QC summary has no numeric columns to draw.")
    if text:
        labels = summary[text[0]].astype(str).tolist()
        panels_data = [(column, summary[column].to_numpy(float)) for column in numeric]
    else:
        labels = numeric
        panels_data = [("value", summary.iloc[0][numeric].to_numpy(float))]

    longest = max(len(label) for label in labels)
    figure = new_figure(
        max(6.0, 0.07 * longest + 3.2 * len(panels_data)), max(2.5, 0.35 * len(labels) + 1.4)
    )
    panels = figure.subplots(1, len(panels_data), sharey=True, squeeze=False)[0]
    for axes, (name, values) in zip(panels, panels_data, strict=True):
        positions = range(len(labels))
        axes.barh(positions, values, color="#4c72b0")
        axes.set_yticks(positions, labels, fontsize=8)
        axes.invert_yaxis()
        for position, value in zip(positions, values, strict=True):
            axes.annotate(
                _format_count(value),
                (value, position),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
        axes.set_xlabel(name.replace("_", " "))
        axes.margins(x=0.2)
        axes.grid(axis="x", alpha=0.3)
    if text:
        panels[0].set_ylabel(text[0].replace("_", " "))
    figure.suptitle("Quality control")
    return figure


def _format_count(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.3g}"
