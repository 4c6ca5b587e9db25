"""The HTML report: one self-contained page a research team can open, share and archive.

Everything is inline (CSS, and charts as SVG), so the page works offline and makes no network
request that could reveal who is reading it. All numbers come from the matrices' DataFrames
(:mod:`qualcode.export.matrices`), so the report and the workbook can never disagree. The page
is deterministic: fixed SVG ids, no dates, stable quote choice, so a re-run can be diffed.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain import Code, Codebook
from ..fsutil import write_text
from .matrices import Matrices, load_matrices

REPORT_NAME = "report.html"
EXAMPLE_QUOTES = 3
QUOTE_WIDTH = 600  # characters shown per example quote; the workbook holds the full text
ANNOTATE_LIMIT = 400  # heat-map cells above which numbers would be unreadable
HEAT_COLOURMAP = "Reds"
# matplotlib's defaults plus fixed SVG ids, glyphs as paths (no fonts needed) and no metadata.
FIGURE_STYLE = {"svg.hashsalt": "qualcode", "svg.fonttype": "path", "font.size": 9}
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_SVG_PROLOG_RE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_NAMESPACE_RE = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; max-width: 72rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.5; }
h1 { margin-bottom: 0.2rem; }
.meta { color: #555; }
figure { margin: 1.5rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9rem; }
section.code { border-top: 1px solid #ddd; padding-top: 0.5rem; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; border: 1px solid #999;
          margin-right: 0.4em; vertical-align: baseline; }
blockquote { margin: 0.6rem 0 0.6rem 1rem; padding-left: 0.8rem; border-left: 3px solid #ccc; }
blockquote footer { color: #555; font-size: 0.85rem; }
"""


def example_quotes(quotes: pd.DataFrame, code_id: str, limit: int = EXAMPLE_QUOTES) -> pd.DataFrame:
    """Up to ``limit`` quotes for a code, one per case before any case gets a second.

    Spreading examples across people shows a theme's reach; the order (cases as in the
    matrices, then table order) is fixed, so the same data always gives the same examples.
    """
    coded = quotes[quotes["code"] == code_id]
    turn = coded.groupby("case", sort=False).cumcount()
    return coded.iloc[np.argsort(turn.to_numpy(), kind="stable")].head(limit)


def svg_markup(figure) -> str:
    """A figure as inline SVG: no XML prolog or namespace URIs, which HTML5 supplies itself."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=NO_METADATA)
    svg = _SVG_PROLOG_RE.sub("", buffer.getvalue(), count=1)
    opening_end = svg.index(">")
    return _NAMESPACE_RE.sub("", svg[:opening_end]) + svg[opening_end:]


def _new_figure(width: float, height: float):
    """A figure on an Agg canvas, outside pyplot, so no GUI and no global figure state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def frequency_chart(summary: pd.DataFrame, codebook: Codebook):
    """Horizontal bars: coded segments per code, in codebook order, in the codebook's colours."""
    labels = [f"{code.name} ({code.id})" for code in codebook.codes]
    figure = _new_figure(7.5, 1.0 + 0.35 * len(labels))
    axes = figure.add_subplot()
    bars = axes.barh(labels, summary["segments"], color=[code.color for code in codebook.codes], edgecolor="#555")
    axes.bar_label(bars, padding=3)
    axes.invert_yaxis()
    axes.set_xlabel("coded segments (parent codes include their sub-codes)")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def heatmap(matrix: pd.DataFrame, colour_label: str):
    """A labelled heat map of a count matrix, with each count written in its cell when they fit."""
    from matplotlib.ticker import MaxNLocator

    values = matrix.to_numpy(dtype=float)
    rows, columns = values.shape
    figure = _new_figure(2.5 + 0.5 * columns, 1.5 + 0.35 * rows)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap=HEAT_COLOURMAP, aspect="auto", vmin=0)
    axes.set_xticks(range(columns), [str(label) for label in matrix.columns], rotation=45, ha="right")
    axes.set_yticks(range(rows), [str(label) for label in matrix.index])
    if values.size <= ANNOTATE_LIMIT:
        middle = values.max(initial=0) / 2
        for (row, column), value in np.ndenumerate(values):
            axes.text(column, row, f"{value:.0f}", ha="center", va="center", fontsize=8,
                      color="white" if value > middle else "black")
    figure.colorbar(image, ax=axes, label=colour_label, shrink=0.8, ticks=MaxNLocator(integer=True))
    return figure


def _figure_html(figure, caption: str) -> str:
    return f"<figure>{svg_markup(figure)}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _charts(matrices: Matrices, codebook: Codebook) -> str:
    """The three charts, drawn with matplotlib's default style whatever the user's matplotlibrc says."""
    from matplotlib import rc_context, style

    with style.context("default"), rc_context(FIGURE_STYLE):
        return "\n".join((
            _figure_html(frequency_chart(matrices.summary, codebook),
                         "Code frequencies: participant segments coded with each code."),
            _figure_html(heatmap(matrices.code_by_case.T, "coded segments"),
                         "Codes by case: how many of each participant's segments carry each code."),
            _figure_html(heatmap(matrices.cooccurrence, "segments coded with both"),
                         "Co-occurrence: segments coded with both codes; the diagonal is each code's own count."),
        ))


def _quote_html(quote: pd.Series) -> str:
    shown = textwrap.shorten(quote["text"], width=QUOTE_WIDTH, placeholder=" …")
    return (f"<blockquote><p>“{html.escape(shown)}”</p>"
            f"<footer>{html.escape(quote['case'])}, {html.escape(quote['segment_id'])}</footer></blockquote>")


def _code_html(code: Code, row: pd.Series, quotes: pd.DataFrame, total_cases: int) -> str:
    """One code's section: what it means, how often it occurs, and examples in participants' words."""
    parent = f" · sub-code of <code>{html.escape(code.parent)}</code>" if code.parent else ""
    examples = example_quotes(quotes, code.id)
    body = "".join(_quote_html(quote) for _, quote in examples.iterrows()) or "<p><em>No coded segments.</em></p>"
    return (f'<section class="code" id="code-{html.escape(code.id)}">'
            f'<h3><span class="swatch" style="background: {html.escape(code.color)}"></span>'
            f"{html.escape(code.name)} <code>{html.escape(code.id)}</code></h3>"
            f'<p class="meta">{row["segments"]} segments · {row["cases"]} of {total_cases} cases · '
            f"{row['documents']} documents{parent}</p>"
            f"<p>{html.escape(code.definition)}</p>{body}</section>")


def render_report(matrices: Matrices, codebook: Codebook) -> str:
    """The whole report page as a string."""
    cases, documents = len(matrices.code_by_case), len(matrices.code_by_document)
    title = html.escape(f"{codebook.name} — coding report")
    summary = matrices.summary.set_index("id")
    sections = "\n".join(_code_html(code, summary.loc[code.id], matrices.quotes, cases) for code in codebook.codes)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="meta">Codebook version {html.escape(codebook.version)} ·
{documents} documents · {matrices.segments} participant segments · {cases} cases.
Interviewer turns are not counted; parent codes include their sub-codes.</p>
</header>
<main>
<h2>Charts</h2>
{_charts(matrices, codebook)}
<h2>Codes</h2>
{sections}
</main>
</body>
</html>
"""


def run_report(coded_path: Path, out_dir: Path, codebook: Codebook) -> Path:
    """``qualcode report``: build the matrices from the coded file and write ``report.html``."""
    path = Path(out_dir) / REPORT_NAME
    write_text(path, render_report(load_matrices(coded_path, codebook), codebook))
    return path
