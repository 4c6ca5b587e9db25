"""The ``qualcode`` command line: a thin click layer over the Python API.

Each command parses options, calls one API function and reports. Heavy libraries (spaCy,
Presidio, pandas) are imported inside the commands, so ``qualcode --help`` stays fast.
A :class:`~qualcode.errors.QualcodeError` becomes one line on stderr and exit status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .config import DEFAULT_MODEL, Settings
from .errors import QualcodeError

OUTPUTS = Path("outputs")
SECURE = Path("secure")
DEFAULT_CODEBOOK = Path("codebook") / "codebook.yaml"
EXISTING_PATH = click.Path(path_type=Path)


class QualcodeGroup(click.Group):
    """Every failure ends in one line on stderr and a non-zero exit, never a traceback.

    qualcode's own errors (bad input, refused paths) say what to fix, with exit status 1. Anything
    else is a defect: the last-resort handler prints only the exception's type (its message could
    quote the data being processed) and exits 2; ``qualcode --debug COMMAND`` shows the traceback.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except QualcodeError as error:
            if debugging(ctx):
                raise
            click.echo(f"qualcode: error: {error.message}", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("qualcode: interrupted; nothing was half-written", err=True)
            ctx.exit(130)
        except Exception as error:  # the last resort: one line, no data, no traceback
            if debugging(ctx):
                raise
            click.echo(f"qualcode: internal error ({type(error).__name__}); nothing was half-written. "
                       "Run again as 'qualcode --debug ...' for the traceback, and report it", err=True)
            ctx.exit(2)


def debugging(ctx: click.Context) -> bool:
    return bool(ctx.find_root().params.get("debug"))


@click.group(cls=QualcodeGroup)
@click.version_option(package_name="qualcode")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error (it may quote your data).")
def main(debug: bool) -> None:
    """Pseudonymise, code and analyse qualitative interview transcripts, offline."""


def settings_option(func):
    """The options every NLP command shares, collected into one :class:`Settings`."""
    func = click.option("--model", default=DEFAULT_MODEL, show_default=True,
                        help="Installed spaCy model name or model folder path.")(func)
    func = click.option("--quiet", is_flag=True, help="No progress bar.")(func)
    return func


def continue_option(func):
    """``--continue-on-error``, for the commands that read a whole corpus."""
    return click.option("--continue-on-error", is_flag=True,
                        help="Skip files that cannot be read and list them at the end; the exit status is "
                             "still 1 if any file was skipped.")(func)


def finish(summary) -> None:
    """Print a stage's summary; exit 1 if files were skipped, so scripts and make still notice."""
    click.echo(summary, err=True)
    if summary.failures:
        click.get_current_context().exit(1)


@main.command()
@click.argument("source", type=EXISTING_PATH)
@click.option("--out", type=EXISTING_PATH, default=OUTPUTS / "pseudonymised", show_default=True,
              help="Folder for the pseudonymised transcripts.")
@click.option("--register", type=EXISTING_PATH, help="Participant register CSV [default: SOURCE/participants.csv].")
@click.option("--key", type=EXISTING_PATH, default=SECURE / "key.json", show_default=True,
              help="The pseudonymisation key (kept apart from outputs).")
@click.option("--style", type=click.Choice(["realistic", "label"]), default="realistic", show_default=True,
              help="Register pseudonyms as first names ([Maya]) or labels ([P03]).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes [default: number of cores].")
@click.option("--encrypt-key", is_flag=True,
              help="Encrypt the key with a passphrase (QUALCODE_KEY_PASSPHRASE, or asked for).")
@click.option("--keep-format", is_flag=True,
              help="Also write a pseudonymised copy of each .docx, .vtt, .srt, .csv or .xlsx input in its own "
                   "format, into OUT/original_format/.")
@continue_option
@settings_option
def pseudonymise(source, out, register, key, style, workers, encrypt_key, keep_format, continue_on_error, model,
                 quiet):
    """Pseudonymise the transcripts in SOURCE into OUT, with the key and review log in secure/."""
    from .pseudonymise import run_pseudonymise
    from .pseudonymise.vault import is_encrypted_file

    settings = Settings(model=model, style=style, quiet=quiet,
                        **({"workers": workers} if workers else {}))
    existing = Path(key).exists()
    passphrase = key_passphrase(confirm=not existing) if encrypt_key or is_encrypted_file(key) else None
    finish(run_pseudonymise(Path(source), Path(out), register_path=register, key_path=Path(key), settings=settings,
                            passphrase=passphrase, continue_on_error=continue_on_error, keep_format=keep_format))


def key_passphrase(confirm: bool) -> str:
    """The key's passphrase: from QUALCODE_KEY_PASSPHRASE, else asked for without echo."""
    import os

    from .pseudonymise.vault import PASSPHRASE_VARIABLE

    return os.environ.get(PASSPHRASE_VARIABLE) or click.prompt(
        "Key passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


@main.command()
@click.argument("file", type=EXISTING_PATH)
@click.option("--key", type=EXISTING_PATH, default=SECURE / "key.json", show_default=True, help="The key.")
@click.option("--out", type=EXISTING_PATH, help="Where to write, inside the key's folder [default: KEYDIR/reidentified/FILE].")
def reidentify(file, key, out):
    """Restore the originals in a pseudonymised FILE, for the researcher who holds the key."""
    from .pseudonymise.reidentify import run_reidentify
    from .pseudonymise.vault import is_encrypted_file

    passphrase = key_passphrase(confirm=False) if is_encrypted_file(key) else None
    target = run_reidentify(Path(file), Path(key), Path(out) if out else None, passphrase)
    click.echo(f"wrote {target}", err=True)


@main.command(name="log")
@click.option("--key", type=EXISTING_PATH, default=SECURE / "key.json", show_default=True, help="The key.")
def log_command(key):
    """Print the review log (every replacement, with its original) for the key holder.

    The log lives beside the key, encrypted with it under --encrypt-key; it is printed, never
    written elsewhere, so no plain copy is left behind.
    """
    from .pseudonymise import read_log
    from .pseudonymise.vault import is_encrypted_file

    passphrase = key_passphrase(confirm=False) if is_encrypted_file(key) else None
    click.echo(read_log(Path(key), passphrase), nl=False)


@main.command()
@click.argument("out_dir", type=EXISTING_PATH)
@click.option("--register", type=EXISTING_PATH, required=True, help="Participant register CSV.")
def check(out_dir, register):
    """Scan every output in OUT_DIR for any register name or alias (the leak check)."""
    from .pseudonymise.leakcheck import assert_no_leaks
    from .register import load_register

    assert_no_leaks(Path(out_dir), load_register(Path(register)))
    click.echo(f"no register name found in {out_dir}", err=True)


@main.group(name="codebook")
def codebook_group() -> None:
    """Check and maintain the codebook YAML file."""


@codebook_group.command(name="check")
@click.argument("file", type=EXISTING_PATH)
@click.pass_context
def codebook_check(ctx: click.Context, file: Path) -> None:
    """List every problem in FILE as FILE:LINE: error|warning: message; exit 1 on any error."""
    from .codebook import check_codebook

    report = check_codebook(file)
    for problem in report.problems:
        click.echo(problem.format(file))
    click.echo(report.summary())
    ctx.exit(1 if report.errors else 0)


@main.command()
@click.argument("file_a", type=EXISTING_PATH)
@click.argument("file_b", type=EXISTING_PATH)
@click.option("--unit", type=click.Choice(["segment", "document"]), default="segment", show_default=True,
              help="Compare per segment, or per document (a code counts if any segment has it).")
@click.option("--out", type=EXISTING_PATH, default=OUTPUTS, show_default=True, help="Folder for agreement.xlsx.")
@click.option("--codes-column-a", help="Column holding A's codes [default: review_codes else codes, or code].")
@click.option("--codes-column-b", help="Column holding B's codes [default: as for A].")
def agreement(file_a, file_b, unit, out, codes_column_a, codes_column_b):
    """Agreement (percent, Cohen's kappa, Krippendorff's alpha) between the coders of FILE_A and FILE_B.

    Rows are matched by segment_id or id. Give the same file twice to compare its automatic
    codes with its review_codes.
    """
    from .reliability import format_report, run_agreement

    comparison, written = run_agreement(Path(file_a), Path(file_b), unit=unit, out_dir=Path(out),
                                        codes_column_a=codes_column_a, codes_column_b=codes_column_b)
    click.echo(format_report(comparison))
    click.echo(f"wrote {written}", err=True)


@main.command(name="export-qdpx")
@click.argument("coded", type=EXISTING_PATH)
@click.option("--transcripts", type=EXISTING_PATH, required=True,
              help="Folder of the pseudonymised transcripts the segments were coded from.")
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK, show_default=True, help="The codebook YAML.")
@click.option("--out", type=EXISTING_PATH, default=OUTPUTS / "project.qdpx", show_default=True,
              help="The REFI-QDA project to write.")
@click.option("--cases", type=EXISTING_PATH, help="Case attributes CSV [default: TRANSCRIPTS/cases.csv if present].")
def export_qdpx_command(coded, transcripts, codebook_path, out, cases):
    """Export CODED as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA or QualCoder."""
    from .cases import CASES_FILENAME
    from .codebook import load_codebook
    from .export.refi import export_qdpx

    if cases is None and (Path(transcripts) / CASES_FILENAME).exists():
        cases = Path(transcripts) / CASES_FILENAME
    summary = export_qdpx(Path(coded), Path(transcripts), load_codebook(codebook_path), Path(out), cases)
    click.echo(summary, err=True)


@main.command(name="export-qdc")
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK, show_default=True, help="The codebook YAML.")
@click.option("--out", type=EXISTING_PATH, default=OUTPUTS / "codebook.qdc", show_default=True,
              help="The REFI-QDA codebook to write.")
def export_qdc_command(codebook_path, out):
    """Export the codebook as a REFI-QDA codebook (.qdc) that other QDA tools import."""
    from .codebook import load_codebook
    from .export.refi import export_qdc

    click.echo(f"wrote {export_qdc(load_codebook(codebook_path), Path(out))}", err=True)


@codebook_group.command(name="import")
@click.argument("file", type=EXISTING_PATH)
@click.option("--out", type=EXISTING_PATH, required=True, help="The codebook YAML to write.")
def codebook_import(file, out):
    """Turn the codebook of a REFI-QDA .qdc or .qdpx (from NVivo, ATLAS.ti, MAXQDA...) into YAML."""
    from .codebook import write_codebook
    from .export.refi import import_codebook

    codebook = import_codebook(Path(file))
    write_codebook(codebook, Path(out))
    click.echo(f"wrote {out}: {len(codebook.codes)} code(s) imported from {file}", err=True)




@codebook_group.command(name="report")
@click.argument("coded", type=EXISTING_PATH)
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK, show_default=True,
              help="The codebook YAML.")
@click.option("--out", type=EXISTING_PATH, required=True, help="Folder for codebook_report.xlsx.")
@click.option("--jaccard", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Flag code pairs whose Jaccard index (both / either) reaches this.")
@click.option("--themes", type=click.IntRange(min=1), default=5, show_default=True,
              help="At most this many groups of segments no code covers.")
def codebook_report(coded, codebook_path, out, jaccard, themes):
    """What to fix in the codebook, from a reviewed CODED file: acceptance per code, keywords behind
    rejected codings, segments analysts added, unused and overlapping codes, uncoded themes."""
    from .codebook import load_codebook
    from .refine import format_summary, run_codebook_report

    report, written = run_codebook_report(Path(coded), load_codebook(codebook_path), Path(out), jaccard, themes)
    click.echo(format_summary(report))
    click.echo(f"wrote {written}", err=True)


@main.command(name="matrices")
@click.argument("coded", type=EXISTING_PATH)
@click.option("--out", type=EXISTING_PATH, default=OUTPUTS, show_default=True,
              help="Folder for matrices.xlsx and the matrices/ CSVs.")
@click.option("--cases", type=EXISTING_PATH,
              help="Case attributes CSV joined by pseudonym, e.g. outputs/pseudonymised/cases.csv [default: none].")
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK, show_default=True,
              help="The codebook YAML.")
def matrices_command(coded, out, cases, codebook_path):
    """Count codes per case, document, case attribute and code pair; build the Framework matrix."""
    from .codebook import load_codebook
    from .export.matrices import run_matrices

    path = run_matrices(Path(coded), Path(out), load_codebook(codebook_path), cases)
    click.echo(f"wrote {path} and its tables as CSVs in {path.with_suffix('')}", err=True)


@main.command(name="report")
@click.argument("coded", type=EXISTING_PATH)
@click.option("--out", type=EXISTING_PATH, default=OUTPUTS, show_default=True, help="Folder for report.html.")
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK, show_default=True,
              help="The codebook YAML.")
def report_command(coded, out, codebook_path):
    """Write a self-contained HTML report: code frequencies, heat maps, definitions and example quotes."""
    from .codebook import load_codebook
    from .export.report import run_report

    click.echo(f"wrote {run_report(Path(coded), Path(out), load_codebook(codebook_path))}", err=True)


@main.command("code")
@click.argument("source", type=EXISTING_PATH)
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK,
              show_default=True, help="The codebook YAML.")
@click.option("--out", type=EXISTING_PATH, default=OUTPUTS, show_default=True,
              help="Folder for coded_segments.csv and .xlsx.")
@click.option("--unit", type=click.Choice(["turn", "sentence", "paragraph"]), help="Coding unit [default: the codebook's].")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Score a code needs [default: the codebook's].")
@click.option("--code-interviewer", is_flag=True, help="Code interviewer turns too.")
@click.option("--model-dir", type=EXISTING_PATH,
              help="A model from `qualcode train`: it decides the codes it learnt "
                   "[default: zero-shot from the codebook].")
@continue_option
@settings_option
def code_command(source, codebook_path, out, unit, threshold, code_interviewer, model_dir, continue_on_error, model,
                 quiet):
    """Code the transcripts (or a .csv/.xlsx table with a text column) in SOURCE against the codebook."""
    from functools import partial

    from .code import run_code
    from .learn import load_model

    finish(run_code(Path(source), Path(codebook_path), Path(out), unit, threshold, code_interviewer,
                    Settings(model=model, quiet=quiet),
                    load_model=None if model_dir is None else partial(load_model, Path(model_dir)),
                    continue_on_error=continue_on_error))


LEARNED_MODEL = OUTPUTS / "model"


@main.command("train")
@click.argument("labelled", type=EXISTING_PATH)
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK, show_default=True,
              help="The codebook YAML.")
@click.option("--model-dir", type=EXISTING_PATH, default=LEARNED_MODEL, show_default=True,
              help="Folder for the learned model (replaced whole).")
@settings_option
def train_command(labelled, codebook_path, model_dir, model, quiet):
    """Learn the codebook's codes from LABELLED: a reviewed coded-segments file or a text/codes table."""
    from .learn import run_train

    click.echo(run_train(Path(labelled), Path(codebook_path), Path(model_dir), Settings(model=model, quiet=quiet)),
               err=True)


@main.command("evaluate")
@click.argument("labelled", type=EXISTING_PATH)
@click.option("--codebook", "codebook_path", type=EXISTING_PATH, default=DEFAULT_CODEBOOK, show_default=True,
              help="The codebook YAML.")
@click.option("--model-dir", type=EXISTING_PATH, help="Retrain with this saved model's settings [default: defaults].")
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True, help="Cross-validation folds.")
@click.option("--out", type=EXISTING_PATH, help="Folder for evaluation.xlsx [default: console only].")
@settings_option
def evaluate_command(labelled, codebook_path, model_dir, folds, out, model, quiet):
    """Cross-validate the baseline, the rules and rules + model on LABELLED against its human codes."""
    from .learn import format_evaluation, run_evaluate

    evaluation, written = run_evaluate(Path(labelled), Path(codebook_path), Settings(model=model, quiet=quiet),
                                       folds, model_dir, out)
    click.echo(format_evaluation(evaluation))
    if written is not None:
        click.echo(f"wrote {written}", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
