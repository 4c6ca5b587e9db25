"""``qualcode codebook report``: every figure checked against counts taken straight from the rows.

The expected numbers come from plain loops over ``ROWS`` below (or, for the evidence, from
reading the evidence strings by eye), written independently of the pandas code under test.
"""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from qualcode.cli import main
from qualcode.codebook import load_codebook
from qualcode.coded import is_reviewed, read_coded, read_evidence, split_codes
from qualcode.coded import format_evidence
from qualcode.domain import Code, Codebook, Evidence
from qualcode.errors import QualcodeError
from qualcode.refine import (NO_REVIEWS, NO_TERMS, SUMMARY_COLUMNS, WORKBOOK_NAME, build_report,
                             distinctive_terms, evidence_terms, format_summary, run_codebook_report)

from conftest import DEFAULT_CODEBOOK, ROOT

REVIEWED_SAMPLE = ROOT / "reviews_sample" / "coded_segments_reviewed.xlsx"
SHEETS = ["summary", "rejected_keywords", "added_by_analysts", "never_applied", "overlapping_codes",
          "uncoded_themes"]

CODEBOOK = Codebook(
    name="Test", version="1", description="", unit="turn",
    codes=(
        Code("barriers", "Barriers", "Anything that hinders joint working."),
        Code("funding", "Funding", "Money for services.", parent="barriers", keywords=("funding", "fund")),
        Code("workload", "Workload", "Too much work.", parent="barriers", keywords=("caseload",)),
        Code("money", "Money", "Budgets.", keywords=("budget",)),
        Code("support", "Support", "Help from other agencies."),
        Code("housing", "Housing", "Where survivors live.", keywords=("flat",)),
        Code("trust", "Trust", "Trust between agencies."),
    ),
)
PARENT = {"funding": "barriers", "workload": "barriers"}

# segment_id, speaker, codes, evidence (code, kind, text), review_codes, text
_ROWS = [
    ("S01", "Interviewer", "", (), "", "Tell me about money."),
    ("S02", "Maya", "funding", (("funding", "keyword", "funding"), ("funding", "similarity", "")), "funding",
     "The funding for the refuge was cut by the council."),
    ("S03", "Maya", "funding;money",
     (("funding", "keyword", "funding"), ("funding", "pattern", "funded"), ("funding", "similarity", ""),
      ("money", "keyword", "budget"), ("money", "similarity", "")), "money", "Our budget was funded by the board."),
    ("S04", "Maya", "funding;money;housing",
     (("funding", "keyword", "fund"), ("money", "keyword", "budget"), ("housing", "keyword", "flat")), "-",
     "We pay for parking at the office out of our own fund, flat rate."),
    ("S05", "Sam", "funding;money", (("funding", "pattern", "funded"), ("funding", "similarity", ""),
                                     ("money", "similarity", "")),
     "", "Funded posts and the budget again."),
    ("S06", "Sam", "workload", (("workload", "question keyword", "caseload"),), "workload;support",
     "Far too many."),
    ("S07", "Sam", "support", (("support", "similarity", ""),), "workload",
     "We are drowning in referrals every week."),
    ("S08", "Sam", "", (), "support", "The helpline volunteers keep a helpline rota."),
    ("S09", "Maya", "workload", (("workload", "keyword", "caseload"), ("workload", "similarity", "")), "",
     "My caseload is sixty women."),
    ("S10", "Maya", "", "", "", "Car parking at the office is a nightmare."),
    ("S11", "Sam", "", "", "", "There are no car parking spaces near the office."),
    ("S12", "Sam", "", "", "", "Induction training and a course for new starters."),
    ("S13", "Maya", "", "", "", "The training course was the best induction."),
    ("S14", "Interviewer", "", "", "", "Anything about car parking or training?"),
    ("S15", "Unknown", "", "", "", "Induction training again, off mic."),
    ("S16", "Sam", "", "", "-", "Yes, yes."),
    ("S17", "Maya", "funding;money", (("funding", "keyword", "funding"), ("money", "keyword", "budget")), "",
     "The funding and the budget are the same pot."),
]


def coded_row(segment_id, speaker, codes, evidence, review, text) -> dict:
    """A row as ``qualcode code`` writes it (as strings, the way ``read_coded`` returns it)."""
    return {"segment_id": segment_id, "document": "T01", "speaker": speaker,
            "speaker_role": "interviewer" if speaker == "Interviewer" else "participant",
            "start": "0", "end": str(len(text)), "text": text, "codes": codes,
            **{code_id: str(int(code_id in codes.split(";"))) for code_id in CODEBOOK.ids},
            "evidence": format_evidence(items(segment_id, evidence)), "review_codes": review,
            "comment": "checked" if review else ""}


def items(segment_id: str, evidence) -> tuple[Evidence, ...]:
    return tuple(Evidence(code, kind, text, 0.5 if text else 0.1) for code, kind, text in evidence)


EVIDENCE = {row[0]: items(row[0], row[3]) for row in _ROWS}


ROWS = [coded_row(*row) for row in _ROWS]


def table(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame(rows).astype(str)


# --- the expected numbers, straight from the rows --------------------------------------------


def automatic(row: dict) -> set[str]:
    return {part for part in row["codes"].split(";") if part}


def reviewed(row: dict) -> bool:
    return bool(row["review_codes"].strip())


def final(row: dict) -> set[str]:
    if not reviewed(row):
        return automatic(row)
    return set() if row["review_codes"] == "-" else set(row["review_codes"].split(";"))


def is_case(row: dict) -> bool:
    return row["speaker_role"] == "participant" and row["speaker"] != "Unknown"


def rolled_up(codes: set[str]) -> set[str]:
    return codes | {PARENT[code] for code in codes if code in PARENT}


@pytest.fixture(scope="module")
def report():
    return build_report(table(), CODEBOOK, "test.csv", jaccard=0.5, most_themes=2, evidence=EVIDENCE)


def by_code(frame: pd.DataFrame) -> dict[str, dict]:
    return {record["code"]: record for record in frame.to_dict("records")}


# --- per code ------------------------------------------------------------------------------


def test_applied_and_after_review_counts(report):
    summary = by_code(report.summary)
    for code_id in CODEBOOK.ids:
        assert summary[code_id]["applied"] == sum(code_id in automatic(row) for row in ROWS), code_id
        assert summary[code_id]["after review"] == sum(code_id in final(row) for row in ROWS), code_id
    assert (report.segments, report.reviewed) == (len(ROWS), sum(map(reviewed, ROWS)))
    assert report.participant_segments == sum(map(is_case, ROWS))


def test_acceptance_rate_is_kept_over_suggested_in_reviewed_rows(report):
    summary = by_code(report.summary)
    for code_id in CODEBOOK.ids:
        suggested = [row for row in ROWS if reviewed(row) and code_id in automatic(row)]
        kept = [row for row in suggested if code_id in final(row)]
        assert summary[code_id]["suggested in reviewed rows"] == len(suggested), code_id
        assert summary[code_id]["kept"] == len(kept), code_id
        assert summary[code_id]["rejected"] == len(suggested) - len(kept), code_id
        if suggested:
            assert summary[code_id]["acceptance"] == pytest.approx(len(kept) / len(suggested)), code_id
        else:
            assert math.isnan(summary[code_id]["acceptance"]), code_id
        added = [row for row in ROWS if code_id in final(row) - automatic(row)]
        assert summary[code_id]["added by analysts"] == len(added), code_id
    # the figures by hand, so the loops above cannot share a mistake with the code
    assert summary["funding"]["acceptance"] == pytest.approx(1 / 3)  # S02 kept; S03, S04 rejected
    assert summary["money"]["acceptance"] == pytest.approx(1 / 2)  # S03 kept; S04 rejected


def test_rejected_keywords_come_from_the_evidence_of_rejected_rows(report):
    # read off the evidence strings of the reviewed rows: (code, kind, term) -> (rejected, kept)
    expected = [
        ("funding", "keyword", "fund", 1, 0),  # S04
        ("funding", "pattern", "funded", 1, 0),  # S03 (S05 is not reviewed)
        ("funding", "keyword", "funding", 1, 1),  # S03 rejected, S02 kept (S17 is not reviewed)
        ("money", "keyword", "budget", 1, 1),  # S04 rejected, S03 kept
        ("support", "similarity only", "", 1, 0),  # S07
        ("housing", "keyword", "flat", 1, 0),  # S04
    ]
    got = list(report.rejected[["code", "evidence", "term", "rejected", "kept"]].itertuples(index=False, name=None))
    assert got == expected
    assert list(report.rejected["share rejected"]) == pytest.approx([r / (r + k) for *_, r, k in expected])
    assert "keyword 'fund' (1); pattern 'funded' (1); keyword 'funding' (1)" in \
        by_code(report.summary)["funding"]["most rejected evidence"]


def test_a_suggestion_without_evidence_is_reported_as_such():
    rows = [dict(row) for row in ROWS]
    evidence = {**EVIDENCE, "S04": EVIDENCE["S04"][:2]}  # S04, housing's evidence gone
    report = build_report(table(rows), CODEBOOK, "test.csv", most_themes=2, evidence=evidence)
    housing = report.rejected[report.rejected["code"] == "housing"]
    assert list(housing[["evidence", "term", "rejected", "kept"]].itertuples(index=False, name=None)) == [
        ("no evidence recorded", "", 1, 0)]


def test_segments_added_by_analysts_with_their_distinctive_terms(report):
    expected = sorted((code_id, row["segment_id"]) for row in ROWS for code_id in final(row) - automatic(row))
    assert sorted(zip(report.added["code"], report.added["segment_id"])) == expected
    assert expected == [("support", "S06"), ("support", "S08"), ("workload", "S07")]
    support = report.added[report.added["code"] == "support"]
    assert support["distinctive terms"].iloc[0].split(", ")[0] == "helpline"  # twice in S08, nowhere else
    assert list(support["review_codes"]) == ["workload;support", "support"]
    assert list(support["automatic codes"]) == ["workload", ""]
    assert by_code(report.summary)["support"]["terms in added segments"] == support["distinctive terms"].iloc[0]


def test_never_applied_codes_and_why(report):
    after = {code_id: sum(code_id in final(row) for row in ROWS) for code_id in CODEBOOK.ids}
    assert list(report.never_applied["code"]) == [code_id for code_id in CODEBOOK.ids if not after[code_id]]
    notes = dict(zip(report.never_applied["code"], report.never_applied["note"]))
    barrier_rows = sum("barriers" in rolled_up(final(row)) for row in ROWS)
    assert notes == {
        "barriers": f"parent code: counts through its sub-codes, {barrier_rows} segments",
        "housing": "analysts rejected every suggestion",
        "trust": "no segment matched it and no analyst added it",
    }


def expected_jaccard() -> dict[tuple[str, str], tuple[int, int, int, float]]:
    """Every unrelated pair over participant rows, codes after review rolled up to parents."""
    members = [rolled_up(final(row)) for row in ROWS if is_case(row)]
    pairs = {}
    for first, code_a in enumerate(CODEBOOK.ids):
        for code_b in CODEBOOK.ids[first + 1:]:
            if PARENT.get(code_a) == code_b or PARENT.get(code_b) == code_a:
                continue
            both = sum(code_a in codes and code_b in codes for codes in members)
            either = sum(code_a in codes or code_b in codes for codes in members)
            count_a = sum(code_a in codes for codes in members)
            count_b = sum(code_b in codes for codes in members)
            pairs[code_a, code_b] = (both, count_a, count_b, both / either if either else 0.0)
    return pairs


@pytest.mark.parametrize("threshold", [0.5, 0.2])
def test_overlapping_pairs_at_or_above_the_threshold(threshold):
    report = build_report(table(), CODEBOOK, "test.csv", jaccard=threshold, most_themes=2)
    expected = {pair: figures for pair, figures in expected_jaccard().items()
                if figures[0] and figures[3] >= threshold}
    got = {(row[0], row[1]): row[2:] for row in report.overlaps.itertuples(index=False, name=None)}
    assert got.keys() == expected.keys()
    for pair, (both, count_a, count_b, jaccard) in expected.items():
        assert got[pair][:3] == (both, count_a, count_b)
        assert got[pair][3] == pytest.approx(jaccard, abs=5e-4)
    assert list(report.overlaps["jaccard"]) == sorted(report.overlaps["jaccard"], reverse=True)
    if threshold == 0.5:
        assert list(got) == [("funding", "money")]  # S05 and S17 together; S02 and S03 apart


def test_uncovered_participant_segments_are_grouped_by_theme(report):
    uncovered = [row["segment_id"] for row in ROWS if is_case(row) and not final(row)]
    assert sorted(report.uncovered["segment_id"]) == sorted(uncovered)
    groups = {theme: set(group["segment_id"]) for theme, group in report.uncovered.groupby("theme")}
    assert groups == {1: {"S04", "S10", "S11"}, 2: {"S12", "S13"}, 0: {"S16"}}
    terms = dict(zip(report.uncovered["theme"], report.uncovered["terms"]))
    assert "parking" in terms[1].split(", ") and "training" in terms[2].split(", ")
    assert terms[0] == NO_TERMS
    sizes = dict(zip(report.uncovered["theme"], report.uncovered["segments in theme"]))
    assert sizes == {theme: len(members) for theme, members in groups.items()}
    assert list(report.uncovered["theme"]) == [1, 1, 1, 2, 2, 0]  # largest theme first, no theme last


# --- the pieces ------------------------------------------------------------------------------


def test_evidence_terms_read_every_kind_the_coders_write():
    evidence = (Evidence("information-sharing", "keyword", "gdpr", 0.5),
                Evidence("information-sharing", "keyword", "share information", 0.5),
                Evidence("information-sharing", "pattern", "clare's law", 0.5),
                Evidence("information-sharing", "pattern", "data | stats", 0.5),
                Evidence("information-sharing", "similarity", "", 0.13),
                Evidence("power-imbalance", "question keyword", "funding", 0.5),
                Evidence("shared-goals-identity", "similarity", "", 0.05),
                Evidence("key-person-dependency", "keyword", "goodwill", 0.5),
                Evidence("key-person-dependency", "model", "", 0.81))
    assert evidence_terms(evidence) == {
        "information-sharing": (("keyword", "gdpr"), ("keyword", "share information"),
                                ("pattern", "clare's law"), ("pattern", "data | stats")),
        "power-imbalance": (("keyword in the question", "funding"),),
        "shared-goals-identity": (("similarity only", ""),),
        "key-person-dependency": (("keyword", "goodwill"), ("learned model", "")),
    }
    assert evidence_terms(()) == {}


def test_distinctive_terms_favour_what_the_group_says_and_the_rest_does_not():
    texts = ["alpha alpha budget office", "alpha budget", "budget office meeting", "budget office meeting",
             "office meeting budget"]
    terms = distinctive_terms(texts, [True, True, False, False, False])
    assert terms[0] == "alpha"
    assert "meeting" not in terms  # only the rest says it
    assert distinctive_terms(["yes yes", "oh okay"], [True, False]) == []  # only stop words


def test_unknown_code_ids_stop_the_report_with_the_row():
    rows = [dict(row) for row in ROWS]
    rows[2]["review_codes"] = "fundng"
    with pytest.raises(QualcodeError, match=r"test.csv:4: unknown code id\(s\) 'fundng' in review_codes"):
        build_report(table(rows), CODEBOOK, "test.csv")
    rows = [dict(row) for row in ROWS]
    rows[3]["codes"] = "funding;moneys"  # a reviewed row: its automatic codes are checked too
    with pytest.raises(QualcodeError, match="'moneys' in codes"):
        build_report(table(rows), CODEBOOK, "test.csv")


def test_without_reviews_it_says_so_and_reports_the_rest():
    rows = [{**row, "review_codes": "", "comment": ""} for row in ROWS]
    report = build_report(table(rows), CODEBOOK, "test.csv")
    assert report.reviewed == 0 and report.rejected.empty and report.added.empty
    assert report.summary["acceptance"].isna().all()
    assert list(report.summary["applied"]) == list(report.summary["after review"])
    assert list(report.never_applied["code"]) == ["barriers", "trust"]
    text = format_summary(report)
    assert NO_REVIEWS in text and "kept/suggested" not in text


def test_missing_columns_are_named():
    with pytest.raises(QualcodeError, match="needs the column"):
        build_report(table().drop(columns=["speaker_role"]), CODEBOOK, "test.csv")


# --- files and the command line ----------------------------------------------------------------


def test_workbook_sheets_hold_the_report(tmp_path):
    path = tmp_path / "coded.csv"
    table().to_csv(path, index=False)
    report, written = run_codebook_report(path, CODEBOOK, tmp_path / "out", most_themes=2)
    assert written == tmp_path / "out" / WORKBOOK_NAME
    book = openpyxl.load_workbook(written)
    assert book.sheetnames == SHEETS
    summary = list(book["summary"].iter_rows(values_only=True))
    assert summary[0] == SUMMARY_COLUMNS
    funding = next(row for row in summary if row[0] == "funding")
    assert funding[3:9] == (5, 3, 3, 1, 2, pytest.approx(1 / 3))  # S02-S05, S17; S02, S05, S17
    assert next(row for row in summary if row[0] == "trust")[8] is None  # undefined rate: an empty cell
    assert book["rejected_keywords"].max_row == len(report.rejected) + 1
    assert book["uncoded_themes"].max_row == len(report.uncovered) + 1


def test_rerun_gives_identical_bytes(tmp_path):
    codebook = load_codebook(DEFAULT_CODEBOOK)
    first = run_codebook_report(REVIEWED_SAMPLE, codebook, tmp_path / "a")[1].read_bytes()
    second = run_codebook_report(REVIEWED_SAMPLE, codebook, tmp_path / "b")[1].read_bytes()
    assert first == second


def test_cli_writes_the_workbook_and_prints_the_summary(tmp_path):
    result = CliRunner().invoke(main, ["codebook", "report", str(REVIEWED_SAMPLE), "--codebook",
                                       str(DEFAULT_CODEBOOK), "--out", str(tmp_path), "--jaccard", "0.3"])
    assert result.exit_code == 0, result.output
    assert "Codebook report on" in result.stdout and "Jaccard >= 0.3" in result.stdout
    assert f"wrote {tmp_path / WORKBOOK_NAME}" in result.stderr
    assert openpyxl.load_workbook(tmp_path / WORKBOOK_NAME).sheetnames == SHEETS


def test_cli_reports_a_bad_file_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["codebook", "report", str(tmp_path / "missing.xlsx"), "--codebook",
                                       str(DEFAULT_CODEBOOK), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("qualcode: error: ") and "no such file" in result.stderr


# --- the shipped sample --------------------------------------------------------------------


def test_the_sample_reviewed_file_loads_with_known_ids_and_real_reviews():
    coded = read_coded(REVIEWED_SAMPLE)
    codebook = load_codebook(DEFAULT_CODEBOOK)
    flags = is_reviewed(coded)
    assert 40 <= sum(flags) <= 60
    reviewed_rows = coded[flags]
    assert set(reviewed_rows["speaker_role"]) == {"participant"}
    assert {code for cell in reviewed_rows["review_codes"] for code in split_codes(cell)} <= set(codebook.ids)
    changed = [row for row in reviewed_rows.to_dict("records")
               if set(split_codes(row["review_codes"])) != set(split_codes(row["codes"]))]
    assert len(changed) >= 20 and all(row["comment"].strip() for row in changed)  # every change explained

    report = build_report(coded, codebook, REVIEWED_SAMPLE, evidence=read_evidence(REVIEWED_SAMPLE))
    assert report.reviewed == sum(flags)
    summary = by_code(report.summary)
    assert summary["power-imbalance"]["rejected"] > 0 and not report.rejected.empty and not report.added.empty
    assert "keyword 'funding'" in summary["power-imbalance"]["most rejected evidence"]
