"""Community risk score distributions and ROC curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from fcsnet.plots.common import (
    CASE_COLOUR,
    CONTROL_COLOUR,
    community_colour,
    empty_figure,
    new_figure,
    panel_grid,
    require_columns,
)

CRS_COLUMNS = ["sample_id", "cohort_part", "split", "status"]
# Groups drawn in the distribution panels: (cohort part, status, label).
DISTRIBUTION_GROUPS = [
    ("training", 0, "training\ncontrols"),
    ("training", 1, "training\ncases"),
    ("validation", 0, "validation\ncontrols"),
    ("validation", 1, "validation\ncases"),
    ("case_only", 1, "case-only\ncohort"),
]


def crs_columns(scores: pd.DataFrame) -> list[str]:
    """Return the ``crs_<community>`` columns of a crs.tsv table, by community number."""
    columns = [column for column in scores.columns if column.startswith("crs_")]
    return sorted(
        columns, key=lambda name: int(name.removeprefix("crs_")) if name[4:].isdigit() else 10**9
    )


def plot_crs_distributions(scores: pd.DataFrame) -> Figure:
    """Draw each community's risk score distribution in cases and controls.

    One panel per community, one box per cohort part and status (training
    scores are out-of-fold), so that a score that separates cases from
    controls on the training split but not on validation stands out.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``crs/crs.tsv``: ``sample_id, cohort_part, split, status`` and one
        ``crs_<community>`` column per community.
    """
    require_columns(scores, CRS_COLUMNS, "crs/crs.tsv")
    columns = crs_columns(scores)
    if not columns:
        return empty_figure("No communities, so no community risk scores.")
    groups = [
        (part, status, label)
        for part, status, label in DISTRIBUTION_GROUPS
        if ((scores["cohort_part"] == part) & (scores["status"] == status)).any()
    ]
    n_rows, n_columns = panel_grid(len(columns))
    figure = new_figure(4.2 * n_columns, 3.6 * n_rows)
    panels = figure.subplots(n_rows, n_columns, squeeze=False)
    for index, column in enumerate(columns):
        axes = panels.flat[index]
        values = [
            scores.loc[(scores["cohort_part"] == part) & (scores["status"] == status), column]
            .dropna()
            .to_numpy()
            for part, status, _ in groups
        ]
        boxes = axes.boxplot(
            values, patch_artist=True, widths=0.6, showfliers=False, medianprops={"color": "black"}
        )
        for box, (_, status, _) in zip(boxes["boxes"], groups, strict=True):
            box.set_facecolor(CASE_COLOUR if status == 1 else CONTROL_COLOUR)
            box.set_alpha(0.55)
        rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
        for position, group_values in enumerate(values, start=1):
            jitter = rng.uniform(-0.18, 0.18, len(group_values))
            axes.scatter(
                position + jitter, group_values, s=4, color="black", alpha=0.35, linewidths=0
            )
        # A group with no scores (a case-only cohort lacking a community's
        # variants has CRS NA there) is labelled rather than drawn empty.
        labels = [
            label if len(group_values) else f"{label}\n(CRS NA)"
            for (_, _, label), group_values in zip(groups, values, strict=True)
        ]
        axes.set_xticks(range(1, len(groups) + 1), labels, fontsize=8)
        community = column.removeprefix("crs_")
        axes.set_title(
            f"community {community}",
            color=community_colour(int(community)) if community.isdigit() else None,
        )
        axes.set_ylabel("community risk score")
        axes.grid(axis="y", alpha=0.3)
    for axes in list(panels.flat)[len(columns) :]:
        axes.set_axis_off()
    figure.suptitle("Community risk scores of cases (red) and controls (blue)")
    return figure


def plot_crs_roc(scores: pd.DataFrame) -> Figure:
    """Draw one ROC curve per community on the validation split.

    Training scores (out-of-fold) are drawn dashed for comparison. Falls back
    to all cases and controls where the table has no validation split.
    """
    require_columns(scores, CRS_COLUMNS, "crs/crs.tsv")
    columns = crs_columns(scores)
    if not columns:
        return empty_figure("No communities, so no ROC curves.")
    labelled = scores[scores["status"].isin([0, 1])]
    validation = labelled[labelled["split"] == "validation"]
    training = labelled[labelled["split"] == "training"]
    if validation["status"].nunique() < 2:
        validation, training = labelled, labelled.iloc[0:0]

    figure = new_figure(6.5, 6)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="chance (AUC 0.5)")
    for column in columns:
        community = column.removeprefix("crs_")
        colour = community_colour(int(community)) if community.isdigit() else None
        for part, style, name in ((validation, "-", "validation"), (training, "--", "training")):
            part = part[part[column].notna()]
            if part["status"].nunique() < 2:
                continue
            false_positive, true_positive, _ = roc_curve(part["status"], part[column])
            auc = roc_auc_score(part["status"], part[column])
            axes.plot(
                false_positive,
                true_positive,
                linestyle=style,
                color=colour,
                linewidth=2 if style == "-" else 1,
                label=f"community {community}, {name} (AUC {auc:.2f})",
            )
    axes.set_xlabel("false positive rate (1 - specificity)")
    axes.set_ylabel("true positive rate (sensitivity)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_aspect("equal")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=7)
    axes.set_title("ROC of each community risk score")
    return figure
