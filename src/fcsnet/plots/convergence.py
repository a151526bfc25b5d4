"""GA convergence: best and mean fitness and population diversity per generation."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from fcsnet.plots.common import empty_figure, new_figure, require_columns

GENERATION_COLUMNS = ["run", "size_limit", "generation", "best", "mean", "diversity"]


def plot_ga_convergence(generations: pd.DataFrame) -> Figure:
    """Draw GA convergence, one column of panels per size limit.

    The top row shows every run's best fitness (thin lines) with the median
    over runs of the best and of the population mean fitness. The bottom row
    shows the median population diversity with its inter-quartile range.

    Parameters
    ----------
    generations : pandas.DataFrame
        ``ga/generations.tsv``: one row per run and generation, columns
        ``run, size_limit, generation, best, mean, diversity``.
    """
    require_columns(generations, GENERATION_COLUMNS, "ga/generations.tsv")
    if generations.empty:
        return empty_figure("No GA generations were recorded.")
    limits = sorted(generations["size_limit"].unique())
    figure = new_figure(max(4.5, 3.6 * len(limits)), 6)
    panels = figure.subplots(2, len(limits), sharex="col", sharey="row", squeeze=False)
    fitness_range = (generations[["best", "mean"]].min().min(), generations["best"].max())

    for column, limit in enumerate(limits):
        table = generations[generations["size_limit"] == limit]
        fitness_axes, diversity_axes = panels[0, column], panels[1, column]
        for _, run in table.groupby("run"):
            run = run.sort_values("generation")
            fitness_axes.plot(
                run["generation"], run["best"], color="#9ecae1", linewidth=0.6, alpha=0.7
            )
        per_generation = table.groupby("generation")
        median = per_generation[["best", "mean", "diversity"]].median()
        fitness_axes.plot(
            median.index,
            median["best"],
            color="#08519c",
            linewidth=2,
            label="best (median of runs)",
        )
        fitness_axes.plot(
            median.index,
            median["mean"],
            color="#e6550d",
            linewidth=2,
            label="population mean (median)",
        )
        fitness_axes.set_title(f"size limit {limit} ({table['run'].nunique()} runs)")
        fitness_axes.set_ylim(*_padded(fitness_range))
        fitness_axes.grid(alpha=0.3)

        lower = per_generation["diversity"].quantile(0.25)
        upper = per_generation["diversity"].quantile(0.75)
        diversity_axes.fill_between(
            lower.index, lower, upper, color="#a1d99b", alpha=0.6, label="inter-quartile range"
        )
        diversity_axes.plot(
            median.index, median["diversity"], color="#31a354", linewidth=2, label="median"
        )
        diversity_axes.set_xlabel("generation")
        diversity_axes.grid(alpha=0.3)

    panels[0, 0].set_ylabel("fitness (cross-validated AUC)")
    panels[1, 0].set_ylabel("population diversity")
    panels[0, -1].legend(loc="lower right", fontsize=8)
    panels[1, -1].legend(loc="upper right", fontsize=8)
    figure.suptitle("GA convergence per size limit")
    return figure


def _padded(value_range: tuple[float, float], fraction: float = 0.05) -> tuple[float, float]:
    low, high = float(value_range[0]), float(value_range[1])
    pad = (high - low) * fraction or 0.01
    return low - pad, high + pad
