"""Documented input limits (issue 11): a file too large, a zip that expands too far, a line too
long; each is one clear error naming the file and the limit, and can be raised."""

from __future__ import annotations

import dataclasses
import zipfile

import pytest

from qualcode.config import Limits, Settings
from qualcode.errors import QualcodeError
from qualcode.ingest import read_source


def settings(**limits) -> Settings:
    return Settings(workers=1, quiet=True, limits=dataclasses.replace(Limits(), **limits))


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("Interviewer: Hi.\n" + "P1: some words in a turn\n" * 60_000, encoding="utf-8")
    with pytest.raises(QualcodeError) as error:
        read_source(path, settings(file_mb=1))
    assert error.value.message == f"{path}: 2 MB, over the limit of 1 MB for one file (raise it with QUALCODE_MAX_FILE_MB)"
    assert read_source(path, settings(file_mb=5))  # raised, it reads


def test_a_zip_bomb_is_refused_before_it_is_unzipped(tmp_path):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" + b"a" * 30_000_000 + b">")  # 30 MB of one byte: ~30 KB zipped
    assert path.stat().st_size < 100_000
    with pytest.raises(QualcodeError) as error:
        read_source(path, settings(expanded_mb=10))
    assert error.value.message == (f"{path}: unzips to 30 MB, over the limit of 10 MB "
                                   "(raise it with QUALCODE_MAX_EXPANDED_MB)")


@pytest.mark.parametrize("suffix", [".txt", ".csv"])
def test_a_line_over_the_limit_is_refused_with_its_line(tmp_path, suffix):
    path = tmp_path / f"long{suffix}"
    long_line = "x " * 6_000
    if suffix == ".txt":
        path.write_text(f"Interviewer: Hi.\nP1: fine\nP1: {long_line}\n", encoding="utf-8")
    else:
        path.write_text(f"id,text\n1,fine\n2,{long_line}\n", encoding="utf-8")
    with pytest.raises(QualcodeError) as error:
        read_source(path, settings(line_chars=10_000))
    assert error.value.problem.startswith("a line of over 10,000 characters (raise the limit with QUALCODE_MAX_LINE_CHARS)")
    assert error.value.line == 3
    assert read_source(path, settings(line_chars=20_000))


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("QUALCODE_MAX_FILE_MB", "500")
    monkeypatch.setenv("QUALCODE_MAX_LINE_CHARS", "1000000")
    assert Settings().limits == Limits(file_mb=500, expanded_mb=Limits.expanded_mb, line_chars=1_000_000)
