"""Tables of the report as self-contained, sortable HTML pages."""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

import pandas as pd

# Sorting script: a click on a header sorts by that column, a second click
# reverses; cells with numbers compare as numbers, other cells as text.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((header, column) => {
  header.addEventListener("click", () => {
    const body = header.closest("table").tBodies[0];
    const ascending = header.dataset.order !== "ascending";
    header.closest("tr").querySelectorAll("th").forEach(h => delete h.dataset.order);
    header.dataset.order = ascending ? "ascending" : "descending";
    const key = row => {
      const text = row.cells[column].textContent.trim();
      const number = Number(text);
      return text !== "" && !Number.isNaN(number) ? number : text.toLowerCase();
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return ascending ? order : -order;
    });
    rows.forEach(row => body.appendChild(row));
  });
});
"""

STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table.sortable { border-collapse: collapse; }
table.sortable th { cursor: pointer; background: #eef1f5; position: sticky; top: 0; }
table.sortable th[data-order="ascending"]::after { content: " \\25B2"; }
table.sortable th[data-order="descending"]::after { content: " \\25BC"; }
table.sortable th, table.sortable td { border: 1px solid #ccd; padding: 3px 8px; text-align: right; }
table.sortable td.text { text-align: left; }
"""


def render_sortable_table(table: pd.DataFrame, title: str, description: str = "") -> str:
    """Return an HTML page showing ``table`` with headers that sort on click."""
    header = "".join(f"<th>{html.escape(str(column))}</th>" for column in table.columns)
    numeric = [pd.api.types.is_numeric_dtype(table[column]) for column in table.columns]
    rows = []
    for values in table.itertuples(index=False):
        cells = "".join(
            f"<td>{_format_value(value)}</td>"
            if is_number
            else f'<td class="text">{html.escape(_text(value))}</td>'
            for value, is_number in zip(values, numeric, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    empty = "" if rows else "<p>The table has no rows.</p>"
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h2>{html.escape(title)}</h2><p>{html.escape(description)}</p>{empty}"
        f'<table class="sortable"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f"<script>{SORT_SCRIPT}</script></body></html>\n"
    )


def write_sortable_table(
    table: pd.DataFrame, path: str | Path, title: str, description: str = ""
) -> None:
    """Write :func:`render_sortable_table` of ``table`` to ``path``, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(render_sortable_table(table, title, description))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _text(value) -> str:
    return "NA" if value is None or (isinstance(value, float) and value != value) else str(value)


def _format_value(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "NA"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
