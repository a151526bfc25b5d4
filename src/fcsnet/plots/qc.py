"""Quality control counts."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from fcsnet.plots.common import empty_figure, new_figure, require_columns

SUMMARY_COLUMNS = ["step", "unit", "threshold", "removed", "remaining"]
UNITS = ("variants", "samples")


def plot_qc_counts(summary: pd.DataFrame) -> Figure:
    """Draw how many variants and samples each QC filter removed.

    One panel per unit (variants, samples): a bar per filter step with the
    number removed, labelled with the step's threshold and the count left
    after it. The panel title gives the input and output counts.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``qc/qc_summary.tsv``: ``step, unit, threshold, removed, remaining``,
        one row per filter and unit in the order the filters ran, with
        ``input`` and ``output`` rows.
    """
    require_columns(summary, SUMMARY_COLUMNS, "qc/qc_summary.tsv")
    if summary.empty:
        return empty_figure("The QC summary is empty.")
    units = [unit for unit in UNITS if (summary["unit"] == unit).any()]
    steps = summary[~summary["step"].isin(["input", "output"])]
    n_bars = max(1, max((steps["unit"] == unit).sum() for unit in units))
    figure = new_figure(5.2 * len(units) + 1.0, 0.45 * n_bars + 1.8)
    panels = figure.subplots(1, len(units), squeeze=False)[0]
    for axes, unit in zip(panels, units, strict=True):
        rows = summary[summary["unit"] == unit]
        filters = rows[~rows["step"].isin(["input", "output"])]
        labels = [_step_label(row.step, row.threshold) for row in filters.itertuples(index=False)]
        positions = list(range(len(filters)))
        axes.barh(positions, filters["removed"], color="#c44e52")
        axes.set_yticks(positions, labels, fontsize=8)
        axes.invert_yaxis()
        for position, row in zip(positions, filters.itertuples(index=False), strict=True):
            axes.annotate(
                f"-{int(row.removed):,} ({int(row.remaining):,} left)",
                (row.removed, position),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
        axes.set_xlabel(f"{unit} removed")
        axes.set_xlim(0, max(1, filters["removed"].max()) * 1.8)
        axes.grid(axis="x", alpha=0.3)
        axes.set_title(f"{unit}: {_count(rows, 'input'):,} in, {_count(rows, 'output'):,} out")
    panels[0].set_ylabel("QC filter (threshold)")
    figure.suptitle("Quality control")
    return figure


def _step_label(step: str, threshold) -> str:
    threshold = "" if pd.isna(threshold) else str(threshold)
    return f"{step} ({threshold})" if threshold else str(step)


def _count(rows: pd.DataFrame, step: str) -> int:
    matching = rows.loc[rows["step"] == step, "remaining"]
    return int(matching.iloc[-1]) if len(matching) else 0
