"""Detection: run Presidio over every turn, batched, optionally in several processes.

Workers each load the model once and return plain tuples, never spaCy Docs: shipping Docs back
to a parent (spaCy's ``n_process``) cost about a fifth of the throughput when measured, while
splitting the corpus across processes that each run the whole analysis gave 1.7-1.8x on 2 cores.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

from ..register import Register
from .recognizers import RoleLexicon, detector_of

# fork where the platform has it (workers share the loaded modules); spawn elsewhere (Windows, and
# macOS where fork is unsafe). Workers get everything through picklable initargs, so both work.
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
TASK_WORDS = 5_000  # words per worker task: small enough for a smooth bar, large enough for batching


@dataclass(frozen=True)
class Detection:
    """One detected span in one turn's text."""

    start: int
    end: int
    entity_type: str
    detector: str
    score: float


class TurnAnalyser:
    """Presidio's ``BatchAnalyzerEngine`` over qualcode's analyzer; one per process."""

    def __init__(self, model: str, register: Register, lexicon: RoleLexicon, batch_size: int):
        from presidio_analyzer import BatchAnalyzerEngine

        from .engine import build_analyzer

        self.batch = BatchAnalyzerEngine(build_analyzer(model, register, lexicon))
        self.batch_size = batch_size

    def analyse(self, texts: Sequence[str]) -> list[list[Detection]]:
        results = self.batch.analyze_iterator(texts, language="en", batch_size=self.batch_size)
        return [[_detection(result) for result in turn_results] for turn_results in results]


def _detection(result) -> Detection:
    name = (result.recognition_metadata or {}).get("recognizer_name", "")
    return Detection(result.start, result.end, result.entity_type, detector_of(name), round(float(result.score), 4))


_worker: TurnAnalyser | None = None


def _init_worker(model: str, register: Register, lexicon: RoleLexicon, batch_size: int) -> None:
    global _worker
    _worker = TurnAnalyser(model, register, lexicon, batch_size)


def _analyse_task(texts: list[str]) -> list[list[Detection]]:
    assert _worker is not None, "worker not initialised"
    return _worker.analyse(texts)


def split_tasks(texts: Sequence[str], task_words: int = TASK_WORDS) -> list[list[str]]:
    """Consecutive chunks of about ``task_words`` words, so workers share the load evenly."""
    tasks: list[list[str]] = [[]]
    words = 0
    for text in texts:
        if words >= task_words:
            tasks.append([])
            words = 0
        tasks[-1].append(text)
        words += len(text.split())
    return [task for task in tasks if task]


def analyse_texts(texts: Sequence[str], model: str, register: Register, lexicon: RoleLexicon, batch_size: int,
                  workers: int, advance: Callable[[int], None]) -> list[list[Detection]]:
    """Detections for every text, in order. ``advance`` is called with each finished task's size."""
    tasks = split_tasks(texts)
    detections: list[list[Detection]] = []
    if workers <= 1 or len(tasks) <= 1:
        analyser = TurnAnalyser(model, register, lexicon, batch_size)
        for task in tasks:
            detections.extend(analyser.analyse(task))
            advance(len(task))
        return detections
    context = multiprocessing.get_context(START_METHOD)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context, initializer=_init_worker,
                             initargs=(model, register, lexicon, batch_size)) as pool:
        for task, result in zip(tasks, pool.map(_analyse_task, tasks)):
            detections.extend(result)
            advance(len(task))
    return detections
