"""Codebook refinement: what a team reads before editing ``codebook.yaml``.

After analysts have reviewed the coded spreadsheet, the review itself says where the codebook is
weak: codes whose suggestions analysts keep rejecting (and the keywords that fired on them),
segments analysts had to code by hand (and the words the rules should have caught), codes no
one uses, codes that always travel together, and participant talk no code covers.

The core is pure: :func:`decisions` turns a coded table into one row per segment with its
automatic codes, the codes that count (:func:`qualcode.coded.final_codes`) and whether an
analyst reviewed it; each ``*_table`` function derives one sheet from that frame, and
:func:`build_report` gathers them. Co-occurrence and Jaccard come from
:mod:`qualcode.export.matrices`, so the overlap figures match ``matrices.xlsx``. Files are
touched only by :func:`write_report` and :func:`run_codebook_report`.

Terms are counted with scikit-learn on the surface text (no spaCy model needed): bracketed
pseudonymisation placeholders such as ``[Location 1]`` and stage directions such as
``[laughs]`` are dropped first, so a pseudonym never shows up as a "distinctive term".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .features import KEYWORD, PATTERN
from .coded import QUESTION_KIND, final_codes, is_reviewed, join_codes, read_coded, read_evidence
from .domain import Codebook, Evidence
from .errors import QualcodeError
from .export.matrices import REQUIRED_COLUMNS, case_rows, cooccurrence_table, jaccard_table, membership
from .export.xlsx import new_workbook, save_workbook, write_table
from .reliability import render_table

WORKBOOK_NAME = "codebook_report.xlsx"
DEFAULT_JACCARD = 0.5
DEFAULT_THEMES = 5
TOP_TERMS = 8
SUMMARY_EVIDENCE = 3  # most rejected keywords/patterns quoted per code in the summary
RANDOM_STATE = 0

SIMILARITY_ONLY = "similarity only"
MODEL = "learned model"
NO_EVIDENCE = "no evidence recorded"
IN_QUESTION = " in the question"
NO_TERMS = "(only common words)"
NO_REVIEWS = "No review_codes filled: acceptance, rejected keywords and analysts' additions need a reviewed file."

MODEL_KIND = "model"

# Words that say nothing about a theme: scikit-learn's English stop words plus interview talk.
FILLERS = frozenset((
    "actually", "ain", "aren", "bit", "couldn", "did", "didn", "does", "doesn", "doing", "don", "erm", "gave",
    "getting", "going", "gone", "gonna", "got", "haven", "isn", "just", "kind", "know", "like", "lot", "mean",
    "oh", "okay", "really", "right", "said", "say", "shouldn", "sort", "thing", "things", "think", "took", "um",
    "wasn", "went", "won", "wouldn", "yeah", "yes",
))
_PLACEHOLDER = re.compile(r"\[[^\]]*\]")
_CLITIC = re.compile(r"['’](?:s|t|re|ve|ll|d|m)\b")
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{3,}\b"  # words of three or more letters

SUMMARY_COLUMNS = ("code", "name", "parent", "applied", "after review", "suggested in reviewed rows", "kept",
                   "rejected", "acceptance", "added by analysts", "most rejected evidence",
                   "terms in added segments")
REJECTED_COLUMNS = ("code", "evidence", "term", "rejected", "kept", "share rejected")
ADDED_COLUMNS = ("code", "distinctive terms", "segment_id", "document", "speaker", "automatic codes",
                 "review_codes", "comment", "text")
NEVER_COLUMNS = ("code", "name", "parent", "applied", "after review", "note")
OVERLAP_COLUMNS = ("code A", "code B", "both", "A segments", "B segments", "jaccard")
THEME_COLUMNS = ("theme", "terms", "segments in theme", "segment_id", "document", "speaker", "text")
PERCENT_COLUMNS = ("acceptance", "share rejected")
WRAPPED_COLUMNS = ("text", "comment")


# --- one row per segment ---------------------------------------------------------------------


def decisions(table: pd.DataFrame, codebook: Codebook, path: Path | str,
              evidence: Mapping[str, Sequence[Evidence]] | None = None) -> pd.DataFrame:
    """Per segment: its text and context, automatic codes, the codes that count, reviewed or not.

    Both code columns are checked against the codebook (unknown ids stop the run, naming the
    spreadsheet row), since a report on a code the codebook does not know would mislead.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise QualcodeError(f"a codebook report needs the column(s) {', '.join(missing)}", path, 1)
    table = table.reset_index(drop=True)
    automatic = final_codes(table.drop(columns=["review_codes"], errors="ignore"), codebook.ids, path)
    final = final_codes(table, codebook.ids, path)

    def column(name: str) -> pd.Series:
        return table[name].fillna("").astype(str) if name in table.columns else pd.Series([""] * len(table))

    frame = pd.DataFrame({name: column(source) for name, source in (
        ("segment_id", "segment_id"), ("document", "document"), ("speaker", "speaker"), ("text", "text"),
        ("review_codes", "review_codes"), ("comment", "comment"))})
    frame["evidence"] = pd.Series([evidence_terms((evidence or {}).get(segment_id, ()))
                                   for segment_id in frame["segment_id"]], dtype=object)
    frame["automatic"] = pd.Series(automatic, dtype=object)
    frame["final"] = pd.Series(final, dtype=object)
    frame["reviewed"] = is_reviewed(table)
    frame["case"] = case_rows(table).to_numpy()
    return frame


def presence(codes_per_row: pd.Series, code_ids: Sequence[str]) -> pd.DataFrame:
    """Rows x code ids, True where the row carries the code itself (no roll-up to parents).

    Acceptance is about what the coder suggested and the analyst kept, code by code, so a
    parent must not inherit its sub-codes' decisions here (unlike in the matrices).
    """
    return pd.DataFrame([[code_id in codes for code_id in code_ids] for codes in codes_per_row],
                        columns=list(code_ids), index=codes_per_row.index, dtype=bool)


# --- evidence --------------------------------------------------------------------------------


def evidence_terms(evidence: Sequence[Evidence]) -> dict[str, tuple[tuple[str, str], ...]]:
    """One segment's evidence items as ``{code id: ((kind, term), ...)}``, for the report.

    Kinds are ``keyword``, ``pattern`` (the text the pattern matched), the same two followed by
    " in the question" when a short answer was coded from the interviewer's question, ``learned
    model`` (empty term) when the model decided, and ``similarity only`` (empty term) when nothing
    else did and the definition alone coded it.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    for item in evidence:
        kind = item.kind.removeprefix(QUESTION_KIND)
        suffix = IN_QUESTION if item.kind.startswith(QUESTION_KIND) else ""
        terms = found.setdefault(item.code, [])
        if kind in (KEYWORD, PATTERN):
            terms.append((kind + suffix, item.text))
        elif kind == MODEL_KIND:
            terms.append((MODEL, ""))
    return {code: tuple(terms) or ((SIMILARITY_ONLY, ""),) for code, terms in found.items()}


def evidence_label(kind: str, term: str) -> str:
    """``keyword 'funding'``, ``pattern 'data'`` or ``similarity only``, for people."""
    return f"{kind} '{term}'" if term else kind


def rejected_table(rows: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Per code, each keyword or pattern behind a rejected suggestion, with how often it was kept.

    Only reviewed rows count. The kept count is what tells a team whether to drop a keyword
    (rarely kept) or narrow it with an exclusion phrase (often kept, sometimes wrong).
    """
    records = []
    reviewed = rows[rows["reviewed"]]
    for order, code_id in enumerate(codebook.ids):
        rejected, kept = Counter(), Counter()
        for automatic, final, evidence in zip(reviewed["automatic"], reviewed["final"], reviewed["evidence"]):
            if code_id in automatic:
                tally = kept if code_id in final else rejected
                tally.update(set(evidence.get(code_id, ((NO_EVIDENCE, ""),))))
        records += [(order, code_id, kind, term, count, kept[kind, term], count / (count + kept[kind, term]))
                    for (kind, term), count in rejected.items()]
    records.sort(key=lambda record: (record[0], -record[4], record[5], record[2], record[3]))
    return pd.DataFrame([record[1:] for record in records], columns=list(REJECTED_COLUMNS))


# --- terms -----------------------------------------------------------------------------------


def term_text(text: str) -> str:
    """Lower-cased text without placeholders, stage directions or clitics ("women's" -> "women")."""
    return _CLITIC.sub("", _PLACEHOLDER.sub(" ", text.lower()))


def term_options() -> dict:
    """The one tokenisation every term count in this report uses."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return {"preprocessor": term_text, "token_pattern": TOKEN_PATTERN,
            "stop_words": sorted(ENGLISH_STOP_WORDS | FILLERS)}


def distinctive_terms(texts: Sequence[str], in_group: Sequence[bool], top: int = TOP_TERMS) -> list[str]:
    """The terms most over-represented in the group against the other texts.

    Weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn, 2008), the
    prior being the pooled counts, ranked by z-score: unlike raw frequency it discounts words
    every segment uses, and unlike a plain ratio it ranks a word the group says often above one
    it says once. With a handful of segments the list is a hint for a person, not a keyword list.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    try:
        counts = CountVectorizer(**term_options()).fit(texts)
    except ValueError:  # nothing but stop words
        return []
    matrix = counts.transform(texts)
    mask = np.asarray(in_group, dtype=bool)
    group = np.asarray(matrix[mask].sum(axis=0), dtype=float).ravel()
    rest = np.asarray(matrix[~mask].sum(axis=0), dtype=float).ravel()
    prior = group + rest
    total = prior.sum()
    log_odds_group = np.log(group + prior) - np.log(group.sum() + total - group - prior)
    log_odds_rest = np.log(rest + prior) - np.log(rest.sum() + total - rest - prior)
    z = (log_odds_group - log_odds_rest) / np.sqrt(1 / (group + prior) + 1 / (rest + prior))
    terms = counts.get_feature_names_out()
    ranked = sorted((index for index in range(len(terms)) if group[index] > 0 and z[index] > 0),
                    key=lambda index: (-z[index], terms[index]))
    return [str(terms[index]) for index in ranked[:top]]


def themes(texts: Sequence[str], most: int = DEFAULT_THEMES, top: int = TOP_TERMS) -> tuple[list[int], list[list[str]]]:
    """Group texts by topic: each text's theme (0 = only common words) and each theme's top terms.

    TF-IDF and non-negative matrix factorisation from the deterministic NNDSVDa start (SVD-based,
    no random draw), so the same texts always give the same themes; each text joins the theme it
    loads on most. Themes are numbered from 1 by size (largest first), ties by first appearance.
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        vectorizer = TfidfVectorizer(sublinear_tf=True, **term_options())
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no text, or nothing but stop words
        return [0] * len(texts), []
    components = min(most, *matrix.shape)
    model = NMF(n_components=components, init="nndsvda", random_state=RANDOM_STATE, max_iter=1000)
    weights = model.fit_transform(matrix)
    has_terms = matrix.getnnz(axis=1) > 0
    raw = [int(np.argmax(row)) if keep else -1 for row, keep in zip(weights, has_terms)]
    sizes = Counter(label for label in raw if label >= 0)
    order = sorted(sizes, key=lambda label: (-sizes[label], raw.index(label)))
    number = {label: position for position, label in enumerate(order, start=1)}
    names = vectorizer.get_feature_names_out()

    def top_terms(component: np.ndarray) -> list[str]:
        ranked = sorted((index for index in range(len(names)) if component[index] > 0),
                        key=lambda index: (-component[index], names[index]))
        return [str(names[index]) for index in ranked[:top]]

    return [number.get(label, 0) for label in raw], [top_terms(model.components_[label]) for label in order]


# --- the sheets ------------------------------------------------------------------------------


def added_table(rows: pd.DataFrame, codebook: Codebook, top: int = TOP_TERMS) -> pd.DataFrame:
    """Segments an analyst coded with a code the rules did not suggest, and what marks them out.

    The terms are those of the code's added segments against every other participant segment:
    candidates for the code's keywords.
    """
    automatic, final = presence(rows["automatic"], codebook.ids), presence(rows["final"], codebook.ids)
    records = []
    for code_id in codebook.ids:
        added = final[code_id] & ~automatic[code_id]
        if not added.any():
            continue
        corpus = rows["case"] | added
        terms = ", ".join(distinctive_terms(rows.loc[corpus, "text"].tolist(), added[corpus].tolist(), top))
        records += [(code_id, terms, row.segment_id, row.document, row.speaker, join_codes(row.automatic),
                     row.review_codes, row.comment, row.text) for row in rows[added].itertuples()]
    return pd.DataFrame(records, columns=list(ADDED_COLUMNS))


def summary_table(rows: pd.DataFrame, codebook: Codebook, rejected: pd.DataFrame,
                  added: pd.DataFrame) -> pd.DataFrame:
    """Per code: applied automatically, counted after review, and what the analysts did with it.

    Acceptance is kept / suggested over reviewed rows only (NaN when no reviewed row had the
    suggestion); unreviewed rows say nothing about whether the analyst agreed.
    """
    automatic, final = presence(rows["automatic"], codebook.ids), presence(rows["final"], codebook.ids)
    reviewed = rows["reviewed"]
    suggested = automatic[reviewed].sum()
    kept = (automatic & final)[reviewed].sum()
    top_rejected = {code_id: "; ".join(f"{evidence_label(kind, term)} ({count})" for kind, term, count
                                       in group[["evidence", "term", "rejected"]].head(SUMMARY_EVIDENCE)
                                       .itertuples(index=False))
                    for code_id, group in rejected.groupby("code", sort=False)}
    added_terms = dict(zip(added["code"], added["distinctive terms"]))
    return pd.DataFrame({
        "code": list(codebook.ids),
        "name": [code.name for code in codebook.codes],
        "parent": [code.parent or "" for code in codebook.codes],
        "applied": automatic.sum().to_numpy(),
        "after review": final.sum().to_numpy(),
        "suggested in reviewed rows": suggested.to_numpy(),
        "kept": kept.to_numpy(),
        "rejected": (suggested - kept).to_numpy(),
        "acceptance": (kept / suggested.where(suggested > 0)).to_numpy(dtype=float),
        "added by analysts": (final & ~automatic).sum().to_numpy(),
        "most rejected evidence": [top_rejected.get(code_id, "") for code_id in codebook.ids],
        "terms in added segments": [added_terms.get(code_id, "") for code_id in codebook.ids],
    }, columns=list(SUMMARY_COLUMNS))


def never_applied_table(rows: pd.DataFrame, codebook: Codebook, summary: pd.DataFrame) -> pd.DataFrame:
    """Codes no segment carries after review, and why that may be fine (a parent) or not."""
    rolled_up = membership(rows["final"].tolist(), codebook).sum()
    records = []
    for code, applied, after in zip(codebook.codes, summary["applied"], summary["after review"]):
        if after:
            continue
        if codebook.children(code.id):
            note = f"parent code: counts through its sub-codes, {int(rolled_up[code.id])} segments"
        elif applied:
            note = "analysts rejected every suggestion"
        else:
            note = "no segment matched it and no analyst added it"
        records.append((code.id, code.name, code.parent or "", int(applied), int(after), note))
    return pd.DataFrame(records, columns=list(NEVER_COLUMNS))


def overlap_table(rows: pd.DataFrame, codebook: Codebook, threshold: float = DEFAULT_JACCARD) -> pd.DataFrame:
    """Pairs of codes whose Jaccard index (both / either) reaches ``threshold``: maybe one code.

    Counted as in ``matrices.xlsx`` (participant segments, codes after review, rolled up to
    parents); a parent and its own descendants always overlap, so those pairs are left out.
    """
    cooccurrence = cooccurrence_table(membership(rows.loc[rows["case"], "final"].tolist(), codebook))
    jaccard = jaccard_table(cooccurrence)
    records = []
    for first, code_a in enumerate(codebook.ids):
        for code_b in codebook.ids[first + 1:]:
            related = code_a in codebook.descendants(code_b) or code_b in codebook.descendants(code_a)
            both = int(cooccurrence.at[code_a, code_b])
            if not related and both and jaccard.at[code_a, code_b] >= threshold:
                records.append((code_a, code_b, both, int(cooccurrence.at[code_a, code_a]),
                                int(cooccurrence.at[code_b, code_b]), float(jaccard.at[code_a, code_b])))
    records.sort(key=lambda record: -record[-1])
    return pd.DataFrame(records, columns=list(OVERLAP_COLUMNS))


def uncovered_table(rows: pd.DataFrame, most: int = DEFAULT_THEMES, top: int = TOP_TERMS) -> pd.DataFrame:
    """Participant segments no code covers after review, grouped by theme: a hint of a missing code."""
    uncovered = rows[rows["case"] & (rows["final"].map(len) == 0)]
    labels, terms = themes(uncovered["text"].tolist(), most, top)
    sizes = Counter(labels)
    records = sorted(((label, ", ".join(terms[label - 1]) if label else NO_TERMS, sizes[label], row.segment_id,
                       row.document, row.speaker, row.text)
                      for label, row in zip(labels, uncovered.itertuples())),
                     key=lambda record: record[0] or len(terms) + 1)  # stable: table order within a theme
    return pd.DataFrame(records, columns=list(THEME_COLUMNS))


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodebookReport:
    """Every table of ``codebook_report.xlsx``, and the counts the summary line needs."""

    source: str
    segments: int
    participant_segments: int
    reviewed: int
    jaccard: float
    summary: pd.DataFrame
    rejected: pd.DataFrame
    added: pd.DataFrame
    never_applied: pd.DataFrame
    overlaps: pd.DataFrame
    uncovered: pd.DataFrame


def build_report(table: pd.DataFrame, codebook: Codebook, source: Path | str, jaccard: float = DEFAULT_JACCARD,
                 most_themes: int = DEFAULT_THEMES,
                 evidence: Mapping[str, Sequence[Evidence]] | None = None) -> CodebookReport:
    """The whole report from a coded table and its evidence items by segment id (``source`` names
    it in messages); no file is touched."""
    rows = decisions(table, codebook, source, evidence)
    rejected = rejected_table(rows, codebook)
    added = added_table(rows, codebook)
    summary = summary_table(rows, codebook, rejected, added)
    return CodebookReport(
        source=str(source), segments=len(rows), participant_segments=int(rows["case"].sum()),
        reviewed=int(rows["reviewed"].sum()), jaccard=jaccard, summary=summary, rejected=rejected, added=added,
        never_applied=never_applied_table(rows, codebook, summary), overlaps=overlap_table(rows, codebook, jaccard),
        uncovered=uncovered_table(rows, most_themes))


def _percent(value: float) -> str:
    return "n/a" if value != value else f"{value:.0%}"


def _review_lines(summary: pd.DataFrame) -> list[str]:
    """Per code: what the analysts kept and added, the evidence behind rejections, the missed terms."""
    columns = (("code", "text"), ("applied", "count"), ("after review", "count"), ("kept/suggested", "text"),
               ("acceptance", "text"), ("added", "count"))
    rows = [(code, applied, after, f"{kept}/{suggested}", _percent(acceptance), added)
            for code, applied, after, kept, suggested, acceptance, added in zip(
                summary["code"], summary["applied"], summary["after review"], summary["kept"],
                summary["suggested in reviewed rows"], summary["acceptance"], summary["added by analysts"])]
    lines = render_table(columns, rows)
    for title, column in (("Most rejected evidence (times rejected):", "most rejected evidence"),
                          ("Missed by the rules: terms of the segments analysts added", "terms in added segments")):
        lines += ["", title, *(f"  {code}: {text}" for code, text in zip(summary["code"], summary[column]) if text)]
    return lines


def _applied_lines(summary: pd.DataFrame) -> list[str]:
    """Without reviews only the automatic counts mean anything; say so first."""
    counts = list(zip(summary["code"], summary["applied"]))
    return [NO_REVIEWS, *render_table((("code", "text"), ("applied", "count")), counts)]


def format_summary(report: CodebookReport) -> str:
    """The plain-text summary the command prints: the headline of each sheet."""
    never = "; ".join(f"{code} ({note})" for code, note in zip(report.never_applied["code"],
                                                               report.never_applied["note"]))
    overlaps = "; ".join(f"{row['code A']} + {row['code B']} ({row['jaccard']:.2f}, {row['both']} together)"
                         for _, row in report.overlaps.iterrows())
    groups = report.uncovered.drop_duplicates("theme")
    return "\n".join([
        f"Codebook report on {report.source}",
        f"  {report.segments} segments, {report.participant_segments} from participants, "
        f"{report.reviewed} reviewed by an analyst",
        "",
        *(_review_lines(report.summary) if report.reviewed else _applied_lines(report.summary)),
        "",
        f"Never applied: {never or 'none'}",
        f"Pairs that may be one code (Jaccard >= {report.jaccard:g}): {overlaps or 'none'}",
        f"Participant segments no code covers: {len(report.uncovered)}"
        + (f", in {len(groups)} group(s):" if len(groups) else ""),
        *(f"  {f'{theme}.' if theme else '-'} ({size}) {terms}" for theme, size, terms in
          zip(groups["theme"], groups["segments in theme"], groups["terms"])),
    ])


def _fill(sheet, frame: pd.DataFrame, notes: Sequence[str] = ()) -> None:
    """One report table through the one sheet writer: rates as percentages, long text wrapped."""
    from openpyxl.styles import Alignment

    write_table(sheet, list(frame.columns), frame.itertuples(index=False, name=None),
                ["0%" if name in PERCENT_COLUMNS else None for name in frame.columns], notes)
    for position, name in enumerate(frame.columns):
        if name in WRAPPED_COLUMNS:
            for row in sheet.iter_rows(min_row=2, max_row=len(frame) + 1):
                row[position].alignment = Alignment(wrap_text=True, vertical="top")


def report_notes(report: CodebookReport) -> list[str]:
    """What was read and how the figures are defined, under the summary table."""
    notes = [f"source: {report.source}", f"segments: {report.segments}",
             f"participant segments: {report.participant_segments}", f"reviewed rows: {report.reviewed}",
             f"overlap threshold (Jaccard): {report.jaccard:g}",
             "applied = automatic codes; after review = review_codes where filled, else codes; "
             "acceptance = kept / suggested, over reviewed rows"]
    if not report.reviewed:
        notes.append(NO_REVIEWS)
    return notes


def workbook(report: CodebookReport):
    """The six sheets, in the order a team reads them."""
    book = new_workbook("summary")
    _fill(book.active, report.summary, report_notes(report))
    for title, frame in (("rejected_keywords", report.rejected), ("added_by_analysts", report.added),
                         ("never_applied", report.never_applied), ("overlapping_codes", report.overlaps),
                         ("uncoded_themes", report.uncovered)):
        _fill(book.create_sheet(title), frame)
    return book


def write_report(report: CodebookReport, path: Path) -> Path:
    """Write the workbook atomically; the same report always gives the same bytes."""
    return save_workbook(workbook(report), Path(path))


def run_codebook_report(coded_path: Path, codebook: Codebook, out_dir: Path, jaccard: float = DEFAULT_JACCARD,
                        most_themes: int = DEFAULT_THEMES) -> tuple[CodebookReport, Path]:
    """``qualcode codebook report``: read a (reviewed) coded file, build the report, write the workbook."""
    report = build_report(read_coded(Path(coded_path)), codebook, coded_path, jaccard, most_themes,
                          read_evidence(Path(coded_path)))
    return report, write_report(report, Path(out_dir) / WORKBOOK_NAME)
