"""Markdown tables of the recovery benchmark's output (``recovery.py summarize``).

Rows are grouped by data category and, where the file names carry them, by
sample size and heritability (2-way epistasis), interaction order (XOR),
missing share and number of SNPs. Rates count only rows whose run finished
(``status`` ok); ``runs`` shows finished runs of all runs. Time and memory
are medians of per-file ratios against the reference method on the same
file, so they compare methods without depending on the machine's speed.
"""

from __future__ import annotations

import re

import pandas as pd

CATEGORY_ORDER = [
    "heterogeneity_r50",
    "heterogeneity_r75",
    "additive_two_pairs_r50",
    "additive_two_pairs_r75",
    "epistasis_2way",
    "epistasis_3way",
    "xor",
    "main_effect_1",
    "main_effects_2",
    "main_effects_4",
    "missing",
    "imbalanced",
    "many_snps",
]
METHOD_ORDER = ["fcsnet", "faithful", "multisurf", "gaopt", "plink"]


def subcase(row) -> str:
    """Return the label of the finer data case a file belongs to."""
    name = str(row["file"])
    category = str(row["category"])
    if category == "epistasis_2way":
        match = re.search(r"s(\d+)_h([\d.]+)", name)
        if match:
            return f"{category} n={match.group(1)} h={match.group(2)}"
    if category == "xor":
        match = re.match(r"xor(\d)", name)
        if match:
            return f"xor order {match.group(1)}"
    if category == "missing":
        match = re.search(r"na([\d.]+)", name)
        if match:
            return f"missing {float(match.group(1)):.0%}"
    if category == "many_snps":
        match = re.search(r"a(\d+)", name)
        if match:
            return f"many_snps {match.group(1)} SNPs"
    return category


def rate(values: pd.Series) -> str:
    """Format the share of True among the measured values as 'k/n', or '-' when none was measured."""
    measured = values.dropna()
    if measured.empty:
        return "-"
    return f"{int(measured.astype(bool).sum())}/{len(measured)}"


def load(paths: list[str]) -> pd.DataFrame:
    table = pd.concat(
        [pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False) for path in paths],
        ignore_index=True,
    )
    table = table.drop_duplicates(subset=["file", "method"], keep="last")
    table["case"] = table.apply(subcase, axis=1)
    for column in ("all_found", "pair_top", "triple_top"):
        table[column] = table[column].map(
            lambda value: pd.NA if pd.isna(value) else str(value).lower() == "true"
        )
    return table


def ratios(table: pd.DataFrame, reference: str, column: str) -> pd.Series:
    """Return ``column`` of every row divided by the reference method's value on the same file."""
    base = table[table["method"] == reference].set_index("file")[column]
    return table[column] / table["file"].map(base)


def summary_table(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Aggregate the output rows per data case and method."""
    table = table.copy()
    ok = table["status"] == "ok"
    table["time_ratio"] = ratios(table[ok], reference, "seconds")
    table["memory_ratio"] = ratios(table[ok], reference, "peak_rss_mb")
    has_groups = table["n_groups"].fillna(0) > 0
    table["groups_all_found"] = (table["n_groups_found"] == table["n_groups"]).astype(object)
    table.loc[~has_groups, "groups_all_found"] = pd.NA
    table["groups_all_clean"] = (table["n_groups_clean"] == table["n_groups"]).astype(object)
    table.loc[~has_groups | table["n_groups_clean"].isna(), "groups_all_clean"] = pd.NA
    rows = []
    case_order = {name: index for index, name in enumerate(CATEGORY_ORDER)}
    table["case_key"] = table["category"].map(case_order).fillna(len(case_order))
    table["method_key"] = table["method"].map(
        {name: index for index, name in enumerate(METHOD_ORDER)}
    )
    for (_, case, _, method), group in table.groupby(
        ["case_key", "case", "method_key", "method"], sort=True
    ):
        finished = group[group["status"] == "ok"]
        rows.append(
            {
                "data": case,
                "method": method,
                "runs": f"{len(finished)}/{len(group)}",
                "all predictive found": rate(finished["all_found"]),
                "groups found": rate(finished["groups_all_found"]),
                "groups clean": rate(finished["groups_all_clean"]),
                "pairs ranked top": rate(finished["pair_top"]),
                "triples ranked top": rate(finished["triple_top"]),
                "subtype ARI": format_median(finished["subtype_ari"], "{:.2f}"),
                "time ratio": format_median(finished["time_ratio"], "{:.2g}"),
                "memory ratio": format_median(finished["memory_ratio"], "{:.2g}"),
            }
        )
    return pd.DataFrame(rows)


def format_median(values: pd.Series, pattern: str) -> str:
    measured = pd.to_numeric(values, errors="coerce").dropna()
    return "-" if measured.empty else pattern.format(measured.median())


def markdown(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(str(value) for value in row) + " |" for row in table.to_numpy()]
    return "\n".join([header, rule, *body])


def print_summary(paths: list[str], reference: str) -> None:
    """Print one Markdown table per data category of the given output TSVs."""
    table = load(paths)
    summary = summary_table(table, reference)
    categories = table.drop_duplicates("case").set_index("case")["category"]
    for category in [*CATEGORY_ORDER, *sorted(set(categories) - set(CATEGORY_ORDER))]:
        part = summary[summary["data"].map(categories) == category]
        if part.empty:
            continue
        print(f"#### {category}\n")
        print(markdown(part))
        print()
