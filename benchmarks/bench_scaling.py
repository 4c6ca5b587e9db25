#!/usr/bin/env python
"""Does a run's cost grow linearly with its input? ``make bench-scaling``.

Pseudonymises (one worker) and codes 1, 2, 4 and 8 MB of real transcript (the Commons oral
evidence sessions, repeated), each size and stage in a fresh subprocess through
``bench_pipeline``'s runner, and prints time and peak memory per size and, for each doubling, the
ratio of seconds per MB to the previous size's: about 1.0 is linear, 2.0 would be quadratic.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import Context, Pipeline, build_corpus, print_table, run_pipelines, say  # noqa: E402

WORDS_PER_MB = 1e6 / 6.2  # the Commons sessions average about 6.2 bytes a word, space included
STAGES = [Pipeline("pseudonymise", "qualcode pseudonymise --workers 1", "qualcode", {"workers": 1}),
          Pipeline("code", "qualcode code (default codebook)", "qualcode_code", {})]
LINEAR = 1.25  # seconds per MB may grow by this much per doubling before we call it super-linear


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 8], help="MB of text (default 1 2 4 8)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    runner = argparse.Namespace(repeats=1, skip=None, quiet=args.quiet)
    table, worst = [], 0.0
    previous: dict[str, float] = {}
    for size in args.sizes:
        workdir = Path(tempfile.mkdtemp(prefix="qualcode-scaling-"))
        try:
            corpus = build_corpus(workdir, int(size * WORDS_PER_MB))
            megabytes = sum(path.stat().st_size for path in corpus.folder.glob("*.txt")) / 1e6
            say(f"scaling: {megabytes:.2f} MB, {corpus.words:,} words", args.quiet)
            rows, _runs = run_pipelines(Context(runner, corpus, workdir), STAGES, corpus.words, corpus.turns)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        for row in rows:
            if row.error:
                table.append([row.label, f"{megabytes:.2f}", "ERROR", row.error, "", ""])
                continue
            per_mb = row.stage_s / megabytes
            growth = per_mb / previous[row.pipeline] if row.pipeline in previous else None
            worst = max(worst, growth or 0.0)
            previous[row.pipeline] = per_mb
            table.append([row.label, f"{megabytes:.2f}", f"{row.stage_s:.1f}", f"{per_mb:.1f}",
                          "" if growth is None else f"{growth:.2f}", f"{row.peak_rss_mb:.0f}"])
    print("\n== cost against input size (stage time, after imports and model load) ==")
    print_table(["stage", "MB", "seconds", "s per MB", "s/MB vs previous size", "peak MB"], table)
    verdict = "PASS" if worst <= LINEAR else "FAIL"
    print(f"\nlargest growth of seconds per MB between sizes: {worst:.2f} (linear is 1.0; target <= {LINEAR}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
