"""A run cannot be hung or crashed (issue 11): a backtracking codebook regex ends with the code and
pattern named; any unexpected exception is one line on stderr and a non-zero exit (``--debug``
shows the traceback); ``--out`` naming a file is a clear error."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from conftest import SAMPLE
from qualcode.cli import main
from qualcode import features as rules

CODEBOOK = textwrap.dedent("""\
    name: t
    version: "1"
    codes:
      - id: slow
        definition: a code whose pattern backtracks
        patterns:
          - regex: "^(a|aa)+$"
      - id: fine
        definition: an ordinary code
        keywords: [share]
    """)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_a_backtracking_pattern_ends_the_run_naming_code_and_pattern(tmp_path, monkeypatch):
    """``(a|aa)+$`` passes the static check (no nested quantifier) but takes exponential time on a
    long run of a's followed by b: the time limit on matching ends it."""
    monkeypatch.setattr(rules, "REGEX_SECONDS", 0.2)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(CODEBOOK, encoding="utf-8")
    source = tmp_path / "source"
    source.mkdir()
    (source / "t.txt").write_text("Interviewer: Go on.\nP1: " + "a" * 40 + "b\n", encoding="utf-8")
    result = invoke("code", str(source), "--codebook", str(codebook), "--out", str(tmp_path / "out"), "--quiet")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"qualcode: error: {codebook}:4: code 'slow': pattern '^(a|aa)+$' took over 0.2 s")
    assert not (tmp_path / "out").exists()


def test_an_unexpected_error_is_one_line_without_data(tmp_path, monkeypatch):
    import qualcode.pseudonymise as stage

    def broken(*args, **kwargs):
        raise RuntimeError("Rachel Okafor said something the code did not expect")

    monkeypatch.setattr(stage, "plan", broken)
    args = ["pseudonymise", str(SAMPLE), "--out", str(tmp_path / "out"), "--key", str(tmp_path / "s" / "key.json"),
            "--workers", "1", "--quiet"]
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "qualcode: internal error (RuntimeError); nothing was half-written. Run again as 'qualcode --debug ...' "
        "for the traceback, and report it"]
    assert "Rachel" not in result.output and not (tmp_path / "out").exists()
    debug = invoke("--debug", *args)
    assert isinstance(debug.exception, RuntimeError)  # the traceback, for the developer who asked


@pytest.mark.parametrize("command", ["pseudonymise", "code"])
def test_out_naming_a_file_is_a_clear_error(tmp_path, pseudonymised, command):
    taken = tmp_path / "a_file"
    taken.write_text("not a folder\n", encoding="utf-8")
    source = SAMPLE if command == "pseudonymise" else pseudonymised
    extra = ["--key", str(tmp_path / "s" / "key.json"), "--workers", "1"] if command == "pseudonymise" else []
    result = invoke(command, str(source), "--out", str(taken), *extra, "--quiet")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"qualcode: error: {taken}: is a file, not a folder: name a folder to write into"]
    assert taken.read_text(encoding="utf-8") == "not a folder\n"


def test_out_inside_a_file_is_a_clear_error(tmp_path, pseudonymised):
    taken = tmp_path / "a_file"
    taken.write_text("x\n", encoding="utf-8")
    result = invoke("code", str(pseudonymised), "--out", str(taken / "sub"), "--quiet")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"qualcode: error: {taken / 'sub'}: is a file, not a folder: name a folder to write into"]


def test_a_second_run_into_a_locked_output_folder_stops_cleanly(tmp_path, pseudonymised):
    from qualcode.fsutil import output_lock

    out = tmp_path / "coded"
    with output_lock(out):  # a first run, still writing
        result = invoke("code", str(pseudonymised), "--out", str(out), "--quiet")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"qualcode: error: {out}: another qualcode run is writing here; wait for it "
                                          "to finish, or choose another output folder"]
    assert not (out / "coded_segments.xlsx").exists()
    again = invoke("code", str(pseudonymised), "--out", str(out), "--quiet")  # the lock went with the first run
    assert again.exit_code == 0, again.output


def test_a_second_pseudonymise_run_cannot_swap_over_the_first(tmp_path):
    from qualcode.fsutil import output_lock

    out = tmp_path / "outputs" / "pseudonymised"
    with output_lock(out.parent):  # the folder that holds the swapped output folder
        result = invoke("pseudonymise", str(SAMPLE), "--out", str(out), "--key", str(tmp_path / "s" / "key.json"),
                        "--workers", "1", "--quiet")
    assert result.stderr.splitlines() == [f"qualcode: error: {out.parent}: another qualcode run is writing here; "
                                          "wait for it to finish, or choose another output folder"]
    assert not out.exists() and not (tmp_path / "s" / "key.json").exists()


def test_the_key_is_kept_out_of_any_outputs_folder_from_any_working_directory(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # "outputs" relative to here does not exist
    study = tmp_path / "study"
    key = study / "outputs" / "secure" / "key.json"
    result = invoke("pseudonymise", str(SAMPLE), "--out", str(study / "outputs" / "pseudonymised"), "--key", str(key),
                    "--workers", "1", "--quiet")
    assert result.exit_code == 1 and "refusing to keep the key with the outputs" in result.stderr
    assert not key.exists()


def test_spawned_workers_give_the_same_bytes(tmp_path, monkeypatch):
    """Where fork does not exist (Windows, macOS by default) workers are spawned: same outputs."""
    from qualcode.pseudonymise import analyse

    def run(name: str, method: str) -> dict[str, bytes]:
        monkeypatch.setattr(analyse, "START_METHOD", method)
        monkeypatch.setattr(analyse, "TASK_WORDS", 300)  # several tasks, so the pool really runs
        out = tmp_path / name / "out"
        result = invoke("pseudonymise", str(SAMPLE), "--out", str(out), "--key", str(tmp_path / name / "s" / "k.json"),
                        "--workers", "2", "--quiet")
        assert result.exit_code == 0, result.output
        return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}

    assert run("spawned", "spawn") == run("forked", "fork")
