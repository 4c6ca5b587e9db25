"""Bad input through the command line: one clear line, a non-zero exit, and nothing written.

Every case runs through ``qualcode pseudonymise`` and ``qualcode code`` with click's runner, and
must print exactly ``qualcode: error: FILE[:LINE]: problem`` on stderr, with no traceback and no
output folder afterwards. Inputs that are odd but valid (right-to-left text, emoji, odd file
names, very long lines, Windows-1252) must work, with offsets that slice the text exactly; and
``--continue-on-error`` processes the good files and lists the bad ones.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import docx
import pytest
from click.testing import CliRunner, Result

from conftest import DEFAULT_CODEBOOK
from qualcode.cli import main
from qualcode.config import Settings
from qualcode.ingest import read_corpus
from qualcode.ingest.text import read_text

GOOD = "Interviewer: How did it start?\nLisa: In May, after the first call.\n"
NUL = b"Lisa: one\ntwo\nthr\x00ee\n"


@dataclass(frozen=True)
class Bad:
    """A bad input planted in a source folder: the file the error must name, and its line."""

    path: Path
    line: int | None = None
    options: tuple[str, ...] = ()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _undecodable(src: Path) -> Bad:
    # 0x81 is invalid in UTF-8 and undefined in cp1252: neither encoding can read line 2
    return Bad(_write(src / "b.txt", b"Lisa: fine\n\x81\x8d broken\n"), 2)


def _binary(src: Path) -> Bad:
    return Bad(_write(src / "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"), 3)


def _empty(src: Path) -> Bad:
    return Bad(_write(src / "b.txt", b""), 1)


def _whitespace_only(src: Path) -> Bad:
    return Bad(_write(src / "b.txt", b"\xef\xbb\xbf \r\n\t\n"), 1)


def _nul(src: Path) -> Bad:
    return Bad(_write(src / "b.txt", NUL), 3)


def _table_without_text(src: Path) -> Bad:
    return Bad(_write(src / "answers.csv", b"id,answer\n1,It was hard.\n"), 1)


def _symlink_outside(src: Path) -> Bad:
    outside = _write(src.parent / "outside.txt", GOOD.encode())
    link = src / "linked.txt"
    link.symlink_to(outside)
    return Bad(link)


def _docx_not_a_zip(src: Path) -> Bad:
    return Bad(_write(src / "interview.docx", b"Lisa: this was saved as text, then renamed\n"))


def _docx_truncated(src: Path) -> Bad:
    document = docx.Document()
    document.add_paragraph("Lisa: It started in May.")
    buffer = io.BytesIO()
    document.save(buffer)
    return Bad(_write(src / "interview.docx", buffer.getvalue()[: len(buffer.getvalue()) // 2]))


def _vtt_broken_timestamp(src: Path) -> Bad:
    return Bad(_write(src / "call.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:0x.500\n<v Lisa Hammond>Hello.</v>\n"), 3)


def _missing_register(src: Path) -> Bad:
    missing = src.parent / "no such register.csv"
    return Bad(missing, None, ("--register", str(missing)))


def _missing_codebook(src: Path) -> Bad:
    missing = src.parent / "no-codebook.yaml"
    return Bad(missing, None, ("--codebook", str(missing)))


BOTH = ("pseudonymise", "code")
CASES: dict[str, tuple[Callable[[Path], Bad], tuple[str, ...]]] = {
    "undecodable text": (_undecodable, BOTH),
    "binary file named .txt": (_binary, BOTH),
    "empty file": (_empty, BOTH),
    "whitespace only": (_whitespace_only, BOTH),
    "NUL bytes": (_nul, BOTH),
    "table without text column": (_table_without_text, BOTH),
    "symlink outside the source": (_symlink_outside, BOTH),
    ".docx that is not a zip": (_docx_not_a_zip, BOTH),
    "truncated .docx": (_docx_truncated, BOTH),
    ".vtt with a broken timestamp": (_vtt_broken_timestamp, BOTH),
    "missing register": (_missing_register, ("pseudonymise",)),
    "missing codebook": (_missing_codebook, ("code",)),
}
PARAMS = [pytest.param(case, command, id=f"{command}-{case}") for case, (_, commands) in CASES.items()
          for command in commands]


def run(command: str, src: Path, out: Path, *options: str) -> Result:
    """One CLI run; ``pseudonymise`` keeps its key beside ``out``, ``code`` uses the shipped codebook."""
    if command == "pseudonymise":
        args = ["pseudonymise", str(src), "--out", str(out), "--key", str(out.parent / "secure" / "key.json"),
                "--workers", "1"]
    else:
        args = ["code", str(src), "--out", str(out)]
        if "--codebook" not in options:
            args += ["--codebook", str(DEFAULT_CODEBOOK)]
    return CliRunner().invoke(main, [*args, "--quiet", *options])


def assert_one_error_line(result: Result, path: Path, line: int | None) -> str:
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    where = f"{path}:{line}: " if line else f"{path}: "
    assert lines[0].startswith(f"qualcode: error: {where}"), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("case, command", PARAMS)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, case, command):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(GOOD, encoding="utf-8")
    bad = CASES[case][0](src)
    out = tmp_path / "out"
    message = assert_one_error_line(run(command, src, out, *bad.options), bad.path, bad.line)
    assert "Lisa" not in message  # the problem is described, never the data
    assert not out.exists() and not (tmp_path / "secure").exists()


def test_when_no_file_can_be_read_continue_on_error_still_stops(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _write(src / "a.txt", NUL)
    _write(src / "b.txt", b"")
    result = run("code", src, tmp_path / "out", "--continue-on-error")
    message = assert_one_error_line(result, src, None)
    assert f"no file could be read: {src / 'a.txt'}:3: NUL byte" in message and "(and 1 more)" in message
    assert not (tmp_path / "out").exists()


# -- odd but valid input, and --continue-on-error, in one run per command --------------------------

ODD_NAME = "entretien café 01 – ñ"
RTL_EMOJI = ("Interviewer: How did the family take it? 🙂\n"
             "Lisa: My mother said مرحبا بكم and my aunt said שלום 👋🏽, then the whole family 👨‍👩‍👧 came.\n"
             "It was e\u0301motional. 🇬🇧\n")
LEGACY = "Interviewer: And the café?\nLisa: The café’s owner – Zoë – rang us.\n"
LONG_LINE = " ".join(["the officer said we would talk again"] * 600)  # 22,000 characters: 22 windows below


@dataclass(frozen=True)
class MixedRun:
    src: Path
    out: Path
    result: Result
    bad: tuple[Bad, ...]


def mixed_source(root: Path) -> tuple[Path, tuple[Bad, ...]]:
    """Good files (odd name, RTL and emoji, cp1252, one very long line) among two bad ones."""
    src = root / "src"
    src.mkdir()
    (src / f"{ODD_NAME}.txt").write_text(RTL_EMOJI, encoding="utf-8")
    (src / "legacy.txt").write_bytes(LEGACY.encode("cp1252"))
    (src / "long.txt").write_text(f"Interviewer: Go on.\nLisa: {LONG_LINE}.\n", encoding="utf-8")
    return src, (_nul(src), _table_without_text(src))


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory) -> dict[str, MixedRun]:
    """Both commands with --continue-on-error on the mixed source, spaCy windows made small so the
    long line exercises the same path as a 1 MB one (which takes half a minute per command)."""
    root = tmp_path_factory.mktemp("mixed")
    src, bad = mixed_source(root)
    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("qualcode.nlp.WINDOW_CHARS", 1_000)
        for command in BOTH:
            out = root / command / "out"
            runs[command] = MixedRun(src, out, run(command, src, out, "--continue-on-error"), bad)
    return runs


@pytest.mark.parametrize("command", BOTH)
def test_continue_on_error_lists_the_failures_and_exits_non_zero(mixed_runs, command):
    mixed = mixed_runs[command]
    assert mixed.result.exit_code == 1, mixed.result.output
    assert "Traceback" not in mixed.result.output
    lines = mixed.result.stderr.splitlines()
    failed = [line for line in lines if line.startswith("failed: ")]
    assert failed == [f"failed: {mixed.bad[1].path}:1: no 'text' column (columns: id, answer)",
                      f"failed: {mixed.bad[0].path}:3: NUL byte found: this looks like a binary file, not a transcript"]
    assert lines[-1] == "2 file(s) could not be read and were skipped"


def test_continue_on_error_is_in_the_help():
    for command in BOTH:
        help_text = CliRunner().invoke(main, [command, "--help"]).output
        assert "--continue-on-error" in help_text and "exit status is still 1" in " ".join(help_text.split())


def test_pseudonymise_writes_every_good_file_and_no_bad_one(mixed_runs):
    out = mixed_runs["pseudonymise"].out
    written = sorted(path.name for path in out.glob("*.txt"))
    assert len(written) == 3 and "b.txt" not in written and "answers.txt" not in written
    texts = "".join(path.read_text(encoding="utf-8") for path in out.glob("*.txt"))
    for kept in ("مرحبا بكم", "שלום 👋🏽", "👨‍👩‍👧", "e\u0301motional. 🇬🇧", "café’s owner"):
        assert kept in texts


def test_the_encoding_used_is_reported_in_the_summary_not_in_the_outputs(mixed_runs):
    mixed = mixed_runs["pseudonymise"]
    assert (f"warning: {mixed.src / 'legacy.txt'}: not UTF-8, read as Windows-1252 (cp1252)"
            in mixed.result.stderr)
    for path in mixed.out.iterdir():
        assert b"1252" not in path.read_bytes()


def test_coded_offsets_slice_the_source_exactly(mixed_runs):
    """Offsets count code points: emoji, combining accents and RTL text must not shift them."""
    mixed = mixed_runs["code"]
    with (mixed.out / "coded_segments.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["document"] for row in rows} == {ODD_NAME, "legacy", "long"}
    for row in rows:
        text, _ = read_text(mixed.src / f"{row['document']}.txt")
        assert text[int(row["start"]):int(row["end"])] == row["text"]
    assert any(len(row["text"]) > 20_000 for row in rows)


def test_a_one_megabyte_line_is_read_with_exact_offsets(tmp_path):
    """Ingest of a real 1 MB line; the NLP side of it is the long line of ``mixed_runs``."""
    line = "x" * 300 + " word" * 209_716
    (tmp_path / "long.txt").write_text(f"Lisa: {line}\nInterviewer: And then?\n{line}\n", encoding="utf-8")
    (transcript,) = read_corpus(tmp_path, Settings())
    assert [len(turn.text) for turn in transcript.turns] == [len(line), len("And then?\n") + len(line)]
    for turn in transcript.turns:
        assert transcript.text[turn.start:turn.end] == turn.text


def test_spacy_takes_a_text_longer_than_its_limit():
    import spacy

    from qualcode.nlp import LongTextPipeline

    text = "Lisa rang. " * 110_000  # 1.1 million characters: spaCy alone refuses it
    doc = LongTextPipeline(spacy.blank("en"))(text)
    assert doc.text == text and len(doc) == 330_000
    assert all(text[token.idx:token.idx + len(token)] == token.text for token in doc[-10:])


# -- a 50 MB transcript ----------------------------------------------------------------------------

MEASURE = """
import json, sys, tracemalloc
from pathlib import Path
from qualcode.config import Settings
from qualcode.ingest import read_source

tracemalloc.start()
transcripts = read_source(Path(sys.argv[1]), Settings())
held, peak = tracemalloc.get_traced_memory()
print(json.dumps({"held": held, "peak": peak, "turns": sum(len(t.turns) for t in transcripts)}))
"""


def write_big_transcript(path: Path, size: int) -> None:
    """Turns of about 280 characters, as in the sample interviews, up to ``size`` bytes."""
    answer = ("Well, we rang the office's number again and nobody came, so I wrote it all down. "
              "It went on like that for weeks, and the support worker said she would chase it up. ") * 3
    block = f"Interviewer: And what happened after that?\n\nLisa: {answer}\nShe did, in the end.\n\n"
    path.write_text(block * (size // len(block)), encoding="utf-8")


def test_a_50_mb_transcript_is_read_in_bounded_memory(tmp_path):
    """Measured: the read peaks at 3.8x the file size, and 3.4x stays held by the result itself (the
    text, each turn's text, about 1.4x of Turn objects). Reading whole then splitting peaked at 4.8x,
    with the raw bytes and a list of every line alive at once. Only 0.35x is transient now."""
    path = tmp_path / "big.txt"
    write_big_transcript(path, 50 * 2**20)
    size = path.stat().st_size
    measured = json.loads(subprocess.run([sys.executable, "-c", MEASURE, str(path)], check=True,
                                         capture_output=True, text=True).stdout)
    assert measured["turns"] > 180_000
    assert measured["peak"] < 4.5 * size
    assert measured["peak"] - measured["held"] < 0.6 * size  # never the raw bytes beside the text
