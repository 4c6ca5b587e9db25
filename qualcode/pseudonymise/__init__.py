"""Stage 1, pseudonymise: raw transcripts in, transcripts safe for an analyst out.

``run_pseudonymise`` is the I/O edge: it reads every input first (so bad input stops the run
before anything is written), analyses all turns, plans replacements and stages the outputs; only
after the leak check passed does it write the key and log to the secure folder and swap the new
outputs in as a whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..cells import csv_text_of
from ..cases import CASE_ATTRIBUTES, CASE_KEY, CASES_FILENAME
from ..config import Settings
from ..errors import QualcodeError
from ..fsutil import OUTPUT_MARKER, csv_text, refuse_inside, staged_dir, write_secure_text, write_text
from ..ingest import REGISTER_FILENAME, encoding_warnings, failure_lines, read_corpus
from ..nlp import check_model_available
from ..progress import progress_bar
from ..register import Register, load_register
from . import vault
from .key import PseudonymKey, corpus_marker
from .leakcheck import assert_no_leaks
from .propagate import lower_case_words
from .recognizers import shipped_role_lexicon
from .stage import LOG_COLUMNS, StagePlan, analysed_texts, plan

LOG_FILENAME = "pseudonymisation_log.csv"
ENCRYPTED_LOG_FILENAME = LOG_FILENAME + ".enc"  # with --encrypt-key: the log holds every original too


@dataclass
class Summary:
    documents: int
    turns: int
    replacements: int
    out: Path
    warnings: list[str] = field(default_factory=list)
    failures: list[QualcodeError] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"warning: {warning}" for warning in self.warnings]
        lines.append(f"pseudonymised {self.documents} document(s), {self.turns} turn(s), "
                     f"{self.replacements} replacement(s) into {self.out}")
        return "\n".join(lines + failure_lines(self.failures))


def resolve_register(source: Path, register_path: Path | None) -> tuple[Register, list[str]]:
    """The given register, else ``participants.csv`` in the source folder, else none (a warning)."""
    if register_path is not None:
        return load_register(register_path), []
    default = Path(source) / REGISTER_FILENAME
    if default.exists():
        return load_register(default), []
    return Register(), ["no participant register: relying on NER, patterns and propagation alone"]


def run_pseudonymise(source: Path, out: Path, register_path: Path | None, key_path: Path,
                     settings: Settings, passphrase: str | None = None, continue_on_error: bool = False,
                     keep_format: bool = False) -> Summary:
    """The stage end to end. With ``passphrase`` the key is stored encrypted (and must be, to be read).

    With ``keep_format``, each input that is not a ``.txt`` also gets a pseudonymised copy in its own
    format (in ``original_format/``), staged and leak-checked with the rest.

    With ``continue_on_error``, files that cannot be read are skipped and listed in the summary.
    """
    from .analyse import analyse_texts

    refuse_inside(key_path, out, "key")
    register, warnings = resolve_register(source, register_path)
    check_model_available(settings.model)
    failures: list[QualcodeError] | None = [] if continue_on_error else None
    transcripts = read_corpus(source, settings, failures)
    warnings.extend(encoding_warnings(transcripts))
    key = PseudonymKey.load(key_path, passphrase)
    lexicon = shipped_role_lexicon().with_register(register)

    texts = analysed_texts(transcripts)
    register = register.with_everyday_words(lower_case_words(texts))
    warnings.extend(f"register row {row}: a name or alias is also an everyday word; it is replaced only where "
                    "written with a capital" for row in register.everyday_word_rows())
    warnings.extend(f"{transcript.source or transcript.document}: no capital letters at all (a machine transcript?): "
                    "names are found from the name lists and context only; check the review log"
                    for transcript in transcripts if not any(char.isupper() for char in transcript.text))
    with progress_bar(len(texts), "pseudonymising", settings.quiet) as bar:
        detections = analyse_texts(texts, settings.model, register, lexicon, settings.batch_size,
                                   settings.workers, bar.update)
    result = plan(transcripts, detections, register, key, lexicon, settings.style)

    with staged_dir(out) as staging:
        for document in result.documents:
            write_text(staging / f"{document.document}.txt", document.text)
        if keep_format:
            from ..export.keep_format import write_copies

            write_copies(staging, transcripts, result.documents)
        write_text(staging / CASES_FILENAME, cases_csv(result, register, key))
        if register.people:
            assert_no_leaks(staging, register)
        else:
            warnings.append("leak check skipped: it needs a register")
        # Only now, with the outputs staged and checked, do the key and log change: a refused
        # --out or a failed leak check leaves the secure folder as it was.
        key.record_outputs(document.text for document in result.documents)
        write_text(staging / OUTPUT_MARKER, corpus_marker(key.corpus) + "\n")
        key.save(key_path, passphrase)
        write_log(Path(key_path).parent, log_csv(result), passphrase)
    turns = sum(len(transcript.turns) for transcript in transcripts)
    return Summary(len(transcripts), turns, len(result.log), Path(out), warnings, failures or [])


def log_csv(result: StagePlan) -> str:
    return csv_text(LOG_COLUMNS, ((row.document, row.start, row.end, row.entity_type, row.original,
                                   row.replacement, row.detector, f"{row.score:.4f}") for row in result.log))


def write_log(secure: Path, text: str, passphrase: str | None) -> None:
    """The review log beside the key, encrypted with it when it is encrypted; the other form is removed,
    so switching to encryption never leaves a plain copy behind."""
    name, other = (ENCRYPTED_LOG_FILENAME, LOG_FILENAME) if passphrase else (LOG_FILENAME, ENCRYPTED_LOG_FILENAME)
    write_secure_text(secure / name, vault.seal(text, passphrase))
    (secure / other).unlink(missing_ok=True)


def read_log(key_path: Path, passphrase: str | None) -> str:
    """The review log's CSV text, for the key holder (``qualcode log``)."""
    secure = Path(key_path).parent
    for name in (ENCRYPTED_LOG_FILENAME, LOG_FILENAME):
        if (secure / name).is_file():
            return vault.unseal((secure / name).read_text(encoding="utf-8"), passphrase, secure / name)
    raise QualcodeError("no review log beside the key: run pseudonymise first", secure)


def parse_log(text: str) -> list[dict[str, str]]:
    """The review log's rows as written by :func:`log_csv` (a formula-safe quote is not part of a value)."""
    return [{column: csv_text_of(value) for column, value in row.items()}
            for row in csv.DictReader(io.StringIO(text, newline=""))]


def cases_csv(result: StagePlan, register: Register, key: PseudonymKey) -> str:
    """One row per register person who speaks in the corpus: pseudonym and generic attributes only."""
    speakers = set().union(*(document.speakers for document in result.documents))
    rows = {(key.person_pseudonym(p), p.role_descriptor, p.organisation_type) for p in register.people}
    return csv_text((CASE_KEY, *CASE_ATTRIBUTES), sorted(row for row in rows if row[0] in speakers))
