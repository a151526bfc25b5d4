"""Report figures and tables, drawn from small tables in the workflow's output formats."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from fcsnet.errors import InputError
from fcsnet.plots import (
    plot_coselection_network,
    plot_crs_distributions,
    plot_crs_roc,
    plot_ga_convergence,
    plot_interaction_heatmaps,
    plot_qc_counts,
    plot_selection_manhattan,
    plot_subtype_profiles,
    save_figure,
    write_sortable_table,
)
from fcsnet.plots.labels import spread_positions
from fcsnet.plots.tables import render_sortable_table

N_VARIANTS = 60
COMMUNITY_MEMBERS = {1: ["rs3", "rs7", "rs12", "rs20"], 2: ["rs31", "rs40", "rs41"]}


@pytest.fixture
def variants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant_id": [f"rs{i}" for i in range(N_VARIANTS)],
            "chrom": [str(1 + i // 20) for i in range(N_VARIANTS)],
            "pos": [1000 * (1 + i % 20) for i in range(N_VARIANTS)],
        }
    )


@pytest.fixture
def communities() -> pd.DataFrame:
    rows = [
        (variant, community, 0.9)
        for community, members in COMMUNITY_MEMBERS.items()
        for variant in members
    ]
    return pd.DataFrame(rows, columns=["variant_id", "community", "stability"])


@pytest.fixture
def nodes(communities) -> pd.DataFrame:
    selected = [*communities["variant_id"], "rs50", "rs51"]
    frequency = np.linspace(0.9, 0.2, len(selected))
    return pd.DataFrame(
        {
            "variant_id": selected,
            "n_selections": (frequency * 100).astype(int),
            "selection_frequency": frequency,
        }
    )


@pytest.fixture
def edges() -> pd.DataFrame:
    rows = []
    for members in COMMUNITY_MEMBERS.values():
        for a, b in itertools.combinations(members, 2):
            rows.append((a, b, 0.2 + 0.1 * len(rows), 0.001, 0.01))
    rows.append(("rs20", "rs50", 0.05, 0.01, 0.04))
    return pd.DataFrame(rows, columns=["variant_a", "variant_b", "weight", "p_value", "q_value"])


@pytest.fixture
def crs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = ["training"] * 80 + ["validation"] * 40 + ["case_only"] * 20
    status = np.r_[np.tile([0, 1], 60), np.ones(20, dtype=int)]
    table = pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(len(parts))],
            "cohort_part": parts,
            "split": parts,
            "status": status,
        }
    )
    for community in COMMUNITY_MEMBERS:
        table[f"crs_{community}"] = rng.normal(0.3 + 0.3 * status, 0.15)
    return table


def drawn_texts(figure) -> list[Text]:
    """Return the visible, non-empty texts of ``figure`` after drawing it.

    Callers measure them with ``Text.get_window_extent`` because an
    annotation's own extent also covers its arrow.
    """
    figure.canvas.draw()
    # Matplotlib keeps label objects of ticks outside the view limits; only
    # the ticks inside the limits are drawn.
    tick_texts, drawn_ticks = set(), set()
    for axes in figure.get_axes():
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            span = (high - low) or 1.0
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                labels = {id(tick.label1), id(tick.label2)}
                tick_texts |= labels
                if low - 1e-9 * span <= tick.get_loc() <= high + 1e-9 * span:
                    drawn_ticks |= labels
    return [
        text
        for text in figure.findobj(Text)
        if text.get_visible()
        and text.get_text().strip()
        and (id(text) not in tick_texts or id(text) in drawn_ticks)
    ]


def overlapping_texts(figure) -> list[tuple[str, str]]:
    """Return pairs of drawn texts whose boxes overlap."""
    renderer = figure.canvas.get_renderer()
    boxes = [
        (text.get_text(), Text.get_window_extent(text, renderer)) for text in drawn_texts(figure)
    ]
    overlaps = []
    for (name_a, box_a), (name_b, box_b) in itertools.combinations(boxes, 2):
        if box_a.width and box_b.width and box_a.overlaps(box_b):
            overlaps.append((name_a, name_b))
    return overlaps


def texts_outside_figure(figure) -> list[str]:
    """Return the drawn texts that extend beyond the figure's edges (clipped in the PNG)."""
    texts = drawn_texts(figure)
    renderer = figure.canvas.get_renderer()
    bounds = figure.bbox
    outside = []
    for text in texts:
        box = Text.get_window_extent(text, renderer)
        if (
            box.x0 < bounds.x0 - 1
            or box.x1 > bounds.x1 + 1
            or box.y0 < bounds.y0 - 1
            or box.y1 > bounds.y1 + 1
        ):
            outside.append(text.get_text())
    return outside


def tick_labels(axes, axis: str) -> list[str]:
    ticks = axes.get_xticklabels() if axis == "x" else axes.get_yticklabels()
    return [tick.get_text() for tick in ticks]


def all_texts(figure) -> set[str]:
    return {text.get_text() for text in figure.findobj(Text)}


def test_ga_convergence_one_column_per_limit(tmp_path):
    rows = [
        (
            run,
            limit,
            generation,
            0.6 + 0.01 * generation,
            0.55 + 0.008 * generation,
            1 - 0.02 * generation,
        )
        for run in range(3)
        for limit in (2, 3, 4)
        for generation in range(20)
    ]
    generations = pd.DataFrame(
        rows, columns=["run", "size_limit", "generation", "best", "mean", "diversity"]
    )
    figure = plot_ga_convergence(generations)
    axes = figure.get_axes()
    assert len(axes) == 6
    titles = [a.get_title() for a in axes if a.get_title()]
    assert titles == ["size limit 2 (3 runs)", "size limit 3 (3 runs)", "size limit 4 (3 runs)"]
    assert axes[0].get_ylabel() == "fitness (cross-validated AUC)"
    assert all(a.get_xlabel() == "generation" for a in axes[3:])
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []
    save_figure(figure, tmp_path / "convergence.png")
    assert (tmp_path / "convergence.png").read_bytes()[:4] == b"\x89PNG"


def test_manhattan_names_top_variants_by_chromosome(nodes, variants, communities):
    figure = plot_selection_manhattan(nodes, variants, communities, n_labels=8)
    axes = figure.get_axes()[0]
    assert tick_labels(axes, "x") == ["1", "2", "3"]
    assert axes.get_xlabel() == "chromosome"
    assert axes.get_ylabel().startswith("selection frequency")
    named = {text.get_text() for text in axes.texts}
    assert named == set(nodes.nlargest(8, "selection_frequency")["variant_id"])
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ["community 1", "community 2"]
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []


def test_manhattan_without_positions_uses_table_order(nodes, variants):
    figure = plot_selection_manhattan(nodes, variants.assign(chrom="NA", pos=0))
    axes = figure.get_axes()[0]
    assert "no positions" in axes.get_xlabel()
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []


def test_manhattan_rejects_table_without_positions(nodes, variants):
    with pytest.raises(InputError, match="qc/variants.tsv lacks the columns \\['pos'\\]"):
        plot_selection_manhattan(nodes, variants.drop(columns="pos"))


def test_network_colours_communities(edges, communities, nodes):
    figure = plot_coselection_network(edges, communities, nodes, seed=3)
    texts = all_texts(figure)
    in_edges = set(edges["variant_a"]) | set(edges["variant_b"])
    assert in_edges <= texts
    assert "rs51" not in texts  # selected, but on no edge
    assert "community 1 (4 variants)" in texts
    assert "community 2 (3 variants)" in texts
    assert "in no community" in texts
    axes = figure.get_axes()[0]
    edge_collection = axes.collections[0]
    widths = np.asarray(edge_collection.get_linewidths())
    assert len(widths) == len(edges)
    assert widths.min() == pytest.approx(0.5)
    assert widths.max() == pytest.approx(6.0)
    node_colours = axes.collections[1].get_facecolors()
    assert len({tuple(colour) for colour in node_colours}) == 3
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []


def test_network_without_edges_says_so(communities):
    empty = pd.DataFrame(columns=["variant_a", "variant_b", "weight"])
    figure = plot_coselection_network(empty, communities)
    assert any("no edges" in text for text in all_texts(figure))


def test_crs_distribution_groups_per_community(crs):
    figure = plot_crs_distributions(crs)
    axes = [a for a in figure.get_axes() if a.axison]
    assert [a.get_title() for a in axes] == ["community 1", "community 2"]
    assert tick_labels(axes[0], "x") == [
        "training\ncontrols",
        "training\ncases",
        "validation\ncontrols",
        "validation\ncases",
        "case-only\ncohort",
    ]
    assert axes[0].get_ylabel() == "community risk score"
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []


def test_crs_roc_reports_validation_auc(crs):
    figure = plot_crs_roc(crs)
    legend = [text.get_text() for text in figure.get_axes()[0].get_legend().get_texts()]
    assert legend[0] == "chance (AUC 0.5)"
    validation = [label for label in legend if "validation" in label]
    assert len(validation) == 2
    # The synthetic scores shift cases by two standard deviations: AUC about 0.92.
    aucs = [float(label.split("AUC ")[1].rstrip(")")) for label in validation]
    assert all(0.8 < auc <= 1.0 for auc in aucs)
    assert any("training" in label for label in legend)


def test_subtype_heatmap_prints_means():
    profiles = pd.DataFrame(
        {
            "subtype": [1, 2, 3],
            "n_cases": [40, 25, 10],
            "crs_1": [0.8, 0.2, 0.1],
            "crs_2": [0.1, 0.7, 0.15],
        }
    )
    figure = plot_subtype_profiles(profiles)
    axes = figure.get_axes()[0]
    assert tick_labels(axes, "y") == ["subtype 1 (n=40)", "subtype 2 (n=25)", "subtype 3 (n=10)"]
    assert tick_labels(axes, "x") == ["community 1", "community 2"]
    cells = [text.get_text() for text in axes.texts]
    assert cells == ["0.80", "0.10", "0.20", "0.70", "0.10", "0.15"]
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []


def test_interaction_heatmap_per_community():
    rows = []
    for community, members in COMMUNITY_MEMBERS.items():
        for a, b in itertools.combinations(members, 2):
            rows.append((community, a, b, 0.1 * (len(rows) + 1), 0.01 if len(rows) % 2 else 0.5))
    interactions = pd.DataFrame(
        rows, columns=["community", "variant_a", "variant_b", "score", "p_value"]
    )
    figure = plot_interaction_heatmaps(interactions)
    axes = [a for a in figure.get_axes() if a.get_title().startswith("community")]
    assert [a.get_title() for a in axes] == ["community 1 (4 variants)", "community 2 (3 variants)"]
    assert tick_labels(axes[0], "x") == sorted(COMMUNITY_MEMBERS[1])
    image = axes[0].get_images()[0].get_array()
    assert image.shape == (4, 4)
    assert np.allclose(image, image.T, equal_nan=True)
    assert len(axes[0].texts) == 4 * 3  # every off-diagonal cell prints its score
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []


def test_interaction_heatmap_keeps_top_variants():
    members = [f"rs{i}" for i in range(40)]
    rows = [
        (1, a, b, float(i + j), 0.5)
        for (i, a), (j, b) in itertools.combinations(enumerate(members), 2)
    ]
    interactions = pd.DataFrame(
        rows, columns=["community", "variant_a", "variant_b", "score", "p_value"]
    )
    figure = plot_interaction_heatmaps(interactions, max_variants=10)
    axes = figure.get_axes()[0]
    assert axes.get_title() == "community 1 (top 10 of 40 variants)"
    assert set(tick_labels(axes, "x")) == {f"rs{i}" for i in range(30, 40)}


def test_qc_counts_per_unit():
    summary = pd.DataFrame(
        [
            ("input", "variants", "", 0, 1000),
            ("input", "samples", "", 0, 500),
            ("variant_call_rate", "variants", 0.95, 12, 988),
            ("sample_call_rate", "samples", 0.95, 3, 497),
            ("maf", "variants", 0.01, 140, 848),
            ("hwe", "variants", "disabled", 0, 848),
            ("output", "variants", "", 0, 848),
            ("output", "samples", "", 0, 497),
        ],
        columns=["step", "unit", "threshold", "removed", "remaining"],
    )
    figure = plot_qc_counts(summary)
    axes = figure.get_axes()
    assert [a.get_title() for a in axes] == [
        "variants: 1,000 in, 848 out",
        "samples: 500 in, 497 out",
    ]
    assert tick_labels(axes[0], "y") == [
        "variant_call_rate (0.95)",
        "maf (0.01)",
        "hwe (disabled)",
    ]
    assert tick_labels(axes[1], "y") == ["sample_call_rate (0.95)"]
    assert {"-140 (848 left)", "-3 (497 left)"} <= all_texts(figure)
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []


def test_sortable_table_escapes_and_formats(tmp_path):
    table = pd.DataFrame(
        {"community": [2, 1], "name": ["<b>x</b>", "y"], "auc": [0.812345, float("nan")]}
    )
    page = render_sortable_table(table, "Community statistics")
    assert '<table class="sortable">' in page
    assert "<th>community</th><th>name</th><th>auc</th>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<td>0.8123</td>" in page
    assert "<td>NA</td>" in page
    write_sortable_table(table, tmp_path / "table.html", "Community statistics")
    assert (tmp_path / "table.html").read_text() == page


def test_spread_positions_keeps_gap_and_order():
    placed = spread_positions(np.array([5.0, 5.1, 5.2, 0.0, 9.9]), 1.0, 0.0, 10.0)
    order = np.argsort([5.0, 5.1, 5.2, 0.0, 9.9], kind="stable")
    assert np.all(np.diff(placed[order]) >= 1.0 - 1e-9)
    assert placed.min() >= 0.0
    assert placed.max() <= 10.0


def test_single_pair_heatmap_fits_figure():
    interactions = pd.DataFrame(
        {
            "community": [1],
            "variant_a": ["snp21"],
            "variant_b": ["snp27"],
            "score": [0.115],
            "p_value": [0.2],
        }
    )
    figure = plot_interaction_heatmaps(interactions)
    image = figure.get_axes()[0].get_images()[0]
    low, high = image.get_clim()
    assert low == 0.0
    assert high == pytest.approx(0.115)
    assert texts_outside_figure(figure) == []
    assert overlapping_texts(figure) == []


def test_one_community_subtypes_fit_figure():
    profiles = pd.DataFrame({"subtype": [1, 2], "n_cases": [170, 80], "crs_1": [0.66, 0.32]})
    figure = plot_subtype_profiles(profiles)
    assert texts_outside_figure(figure) == []
    assert overlapping_texts(figure) == []


def test_manhattan_spreads_clustered_labels():
    rng = np.random.default_rng(1)
    n_variants = 5000
    variants = pd.DataFrame(
        {
            "variant_id": [f"rs{100000 + i}" for i in range(n_variants)],
            "chrom": [str(1 + i * 22 // n_variants) for i in range(n_variants)],
            "pos": rng.integers(1, 200_000_000, n_variants),
        }
    )
    # 21 equally frequent variants next to each other on chromosome 1.
    nodes = pd.DataFrame(
        {"variant_id": variants["variant_id"][100:121], "selection_frequency": 0.9}
    )
    figure = plot_selection_manhattan(nodes, variants, n_labels=30)
    axes = figure.get_axes()[0]
    assert len(axes.texts) == 21
    assert tick_labels(axes, "x") == [str(c) for c in range(1, 23)]
    assert overlapping_texts(figure) == []
    assert texts_outside_figure(figure) == []
