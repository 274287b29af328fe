"""Several captures at once (a night's directory of install captures), one worker process per core.

Each capture is analysed and reviewed in its own process: the work is independent per file, and
the per-process memory bound of the pipeline holds for every worker.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat

from analyzer.pipeline import Analysis, analyze, tune_gc_for_batch_run
from analyzer.review import ReviewOptions, review
from parsers.errors import ParseError


@dataclass
class BatchResult:
    path: str
    analysis: Analysis | None
    error: str | None  # one line naming the file and the reason, when the capture could not be read


def analyze_one(path: str, options: ReviewOptions) -> BatchResult:
    tune_gc_for_batch_run()
    try:
        result = analyze(path)
    except ParseError as exc:
        reason = exc.reason if exc.reason.startswith(path) else f"{path}: {exc.reason}"
        return BatchResult(path, None, reason)
    except OSError as exc:
        return BatchResult(path, None, f"{path}: {exc.strerror or exc}")
    review(result, options)
    return BatchResult(path, result, None)


def analyze_many(paths: list[str], options: ReviewOptions, jobs: int | None = None) -> list[BatchResult]:
    """Results in the order of ``paths``; ``jobs`` defaults to every core."""
    workers = min(jobs or os.cpu_count() or 1, len(paths))
    if workers <= 1:
        return [analyze_one(p, options) for p in paths]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(analyze_one, paths, repeat(options)))
