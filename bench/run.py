"""Run the benchmarks: `python -m bench.run [--only NAME] [--limit N]`.

Each registered area returns a results dict; full runs write bench/results/<area>.json
and regenerate that area's section of docs/benchmarks.md. Runs with --limit are for quick
iteration: they print the summary but write nothing, so recorded numbers are always
from the full question sets.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import (
    answers,
    api,
    audiences,
    consumer,
    evaluation,
    llm,
    reliability,
    rerank,
    retrieval,
    scale,
    scale_out,
    support,
)
from bench.data import MissingData
from bench.report import update_section, write_json
from evident.errors import EvidentError


@dataclass(frozen=True)
class Area:
    """A benchmark area: run(limit, log) -> results; markdown(results); summary(results)."""

    title: str
    run: Callable[..., dict[str, Any]]
    markdown: Callable[[dict[str, Any]], str]
    summary: Callable[[dict[str, Any]], str]


AREAS: dict[str, Area] = {
    retrieval.AREA: Area(retrieval.TITLE, retrieval.run, retrieval.markdown, retrieval.summary),
    answers.AREA: Area(answers.TITLE, answers.run, answers.markdown, answers.summary),
    evaluation.AREA: Area(
        evaluation.TITLE, evaluation.run, evaluation.markdown, evaluation.summary
    ),
    api.AREA: Area(api.TITLE, api.run, api.markdown, api.summary),
    audiences.AREA: Area(audiences.TITLE, audiences.run, audiences.markdown, audiences.summary),
    llm.AREA: Area(llm.TITLE, llm.run, llm.markdown, llm.summary),
    reliability.AREA: Area(
        reliability.TITLE, reliability.run, reliability.markdown, reliability.summary
    ),
    support.AREA: Area(support.TITLE, support.run, support.markdown, support.summary),
    rerank.AREA: Area(rerank.TITLE, rerank.run, rerank.markdown, rerank.summary),
    consumer.AREA: Area(consumer.TITLE, consumer.run, consumer.markdown, consumer.summary),
    scale.AREA: Area(scale.TITLE, scale.run, scale.markdown, scale.summary),
    scale_out.AREA: Area(scale_out.TITLE, scale_out.run, scale_out.markdown, scale_out.summary),
}


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", choices=sorted(AREAS), help="run one area instead of all of them")
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="use at most N questions per question set (quick run; writes no results)",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="write results and docs even for a --limit run",
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be at least 1, got {args.limit}")

    names = [args.only] if args.only else list(AREAS)
    failed = False
    for name in names:
        area = AREAS[name]
        _log(f"bench: {name} …")
        try:
            results = area.run(limit=args.limit, log=_log)
        except MissingData as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except EvidentError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            failed = True
            continue
        print(f"\n== {area.title} ==\n{area.summary(results)}")
        if args.limit is None or args.write:
            json_path = write_json(name, results)
            doc_path = update_section(name, area.title, area.markdown(results))
            print(f"wrote {json_path} and the {area.title} section of {doc_path}")
        else:
            print("(--limit run: results not written; add --write to write them anyway)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
