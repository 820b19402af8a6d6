#!/usr/bin/env python3
"""Benchmarks of the template and of what it generates, each next to a baseline
measured in the same run.

    python bench/run.py              # every benchmark, full repeats
    python bench/run.py --quick      # fewer repeats, fewer streams
    python bench/run.py --only generation,service
    python bench/run.py --profile    # where a generation spends its time

Prints a table and writes bench/results.json. Each figure is the median of repeated
runs; the subject and its baseline alternate (A B, B A, A B, ...) so drift in machine
load hits both alike. Nothing here asserts a time: docs/benchmarks.md reads the numbers.
Each benchmark is a module of this package with a `run(args, work)`; BENCHMARKS below
names them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import generation, install, scaling, service, streaming, suites
from bench.figures import Figure, Result, Skipped
from harness.project import REPO

RESULTS = REPO / "bench" / "results.json"

# --only's names, in the order a full run takes them.
BENCHMARKS: dict[str, Callable[[argparse.Namespace, Path], list[Result]]] = {
    "generation": generation.run,
    "install": install.run,
    "service": service.run,
    "streaming": streaming.run,
    "tests": suites.run,
    "scaling": scaling.run,
}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def format_value(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:,.0f} {unit}"


def print_table(results: list[Result], markdown: bool = False) -> None:
    rows = [("benchmark", "median", "baseline (same run)", "ratio", "goal", "runs", "note")]
    for r in results:
        if isinstance(r, Skipped):
            rows.append((r.name, "skipped", r.reason, "", "", "", ""))
            continue
        baseline = f"{format_value(r.baseline, r.unit)} {r.baseline_name}" if r.baseline else ""
        ratio = f"{r.ratio:.2f}x" if r.ratio else ""
        goal = f"{r.goal} {'met' if r.met else 'NOT met'}" if r.met is not None else r.goal
        rows.append(
            (r.name, format_value(r.value, r.unit), baseline, ratio, goal, str(r.runs), r.note)
        )
    if markdown:
        for i, row in enumerate(rows):
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
            if i == 0:
                print("|" + "---|" * len(row))
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def load_results(path: Path) -> list[Result]:
    saved = json.loads(path.read_text())
    fields = set(Figure.__dataclass_fields__)
    figures: list[Result] = [
        Figure(**{k: v for k, v in f.items() if k in fields}) for f in saved["figures"]
    ]
    return figures + [Skipped(**s) for s in saved["skipped"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, fewer streams")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--template",
        type=Path,
        default=REPO,
        help="folder holding copier.yml, hooks/ and template/ (default: this repository)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="another template folder (an earlier release) whose copy is measured too",
    )
    parser.add_argument("--profile", action="store_true", help="profile one generation and exit")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print the table of the last results.json as Markdown (for docs/benchmarks.md)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--database-url",
        default="",
        help="run the streaming benchmark against this database (default: SQLite)",
    )
    args = parser.parse_args()
    args.template = args.template.resolve()
    args.compare = args.compare.resolve() if args.compare else None
    if args.markdown:
        print_table(load_results(args.output), markdown=True)
        return 0

    # 1,000 open streams need more file descriptors than the usual soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        if args.profile:
            generation.profile(args, work)
            return 0
        results: list[Result] = []
        for name in args.only.split(","):
            name = name.strip()
            if name not in BENCHMARKS:
                parser.error(f"unknown benchmark {name!r}")
            print(f"running {name} ...", file=sys.stderr, flush=True)
            section = work / name
            section.mkdir()
            results.extend(BENCHMARKS[name](args, section))

    print_table(results)
    args.output.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "quick": args.quick,
                "machine": machine(),
                "figures": [r.as_json() for r in results if isinstance(r, Figure)],
                "skipped": [asdict(r) for r in results if isinstance(r, Skipped)],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
