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
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results.json"
TEMPLATE_PARTS = ("copier.yml", "hooks", "template")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "node_modules", ".dart_tool")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


@dataclass
class Figure:
    """One line of the table: a median, and the same-run baseline it is read against."""

    name: str
    value: float
    unit: str
    runs: int
    baseline: float | None = None
    baseline_name: str = ""
    goal: str = ""
    # ratio = value / baseline; `higher_is_better` says which way the goal points.
    goal_ratio: float | None = None
    higher_is_better: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        if self.goal_ratio is None or self.ratio is None:
            return None
        if self.higher_is_better:
            return self.ratio >= self.goal_ratio
        return self.ratio <= self.goal_ratio

    def as_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


@dataclass
class Skipped:
    name: str
    reason: str


def median(values: list[float]) -> float:
    return statistics.median(values)


def alternate(
    subject: Callable[[], float], baseline: Callable[[], float], pairs: int, warmup: int = 1
) -> tuple[list[float], list[float]]:
    """Run subject and baseline `pairs` times each, alternating which goes first.
    Each callable returns the seconds it measured (so set-up stays out of the figure)."""
    for _ in range(warmup):
        subject()
        baseline()
    subject_times, baseline_times = [], []
    for i in range(pairs):
        order = [(subject, subject_times), (baseline, baseline_times)]
        if i % 2:
            order.reverse()
        for run, times in order:
            times.append(run())
    return subject_times, baseline_times


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def git_repo(path: Path, tags: list[str], force: bool = False) -> Path:
    """Commit what is in `path` and tag it; every tag after the first gets an empty
    commit of its own, so an update from the first tag to the last has work to do.
    `force` adds files a .gitignore inside would hide (template/.gitignore ignores
    .env*, which would drop template/backend/.env.jinja from the template's repo)."""
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", *(["--force"] if force else []), cwd=path)
    git("commit", "-q", "-m", "template", cwd=path)
    for i, tag in enumerate(tags):
        if i:
            git("commit", "-q", "--allow-empty", "-m", f"release {tag}", cwd=path)
        git("tag", tag, cwd=path)
    return path


def template_repo(work: Path, source: Path) -> Path:
    """This template (copier.yml, hooks/, template/) as its own git repository."""
    dst = work / "template-repo"
    dst.mkdir()
    for part in TEMPLATE_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dst / part, ignore=IGNORED)
        elif src.exists():
            shutil.copy2(src, dst / part)
    return git_repo(dst, ["v1.0.0", "v1.0.1"], force=True)


def floor_repo(work: Path) -> Path:
    """Copier's own floor: one question-less template with one file and the answers
    file. Whatever a copy costs beyond this is the template's doing."""
    dst = work / "floor-repo"
    (dst / "template").mkdir(parents=True)
    (dst / "copier.yml").write_text("_subdirectory: template\n")
    (dst / "template" / "README.md").write_text("A project.\n")
    (dst / "template" / "{{_copier_conf.answers_file}}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml -}}\n"
    )
    return git_repo(dst, ["v1.0.0", "v1.0.1"])


def copier_env(work: Path) -> dict[str, str]:
    """No personal Copier settings, and a git identity for `copier update`'s commits."""
    settings = work / "copier-settings.yml"
    settings.write_text("{}\n")
    return {**os.environ, **GIT_ENV, "COPIER_SETTINGS_PATH": str(settings)}


class Counter:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.n = 0

    def fresh(self, prefix: str) -> Path:
        self.n += 1
        return self.work / f"{prefix}-{self.n}"


# --------------------------------------------------------------------------- generation


def bench_generation(args: argparse.Namespace, work: Path) -> list[Figure | Skipped]:
    env = copier_env(work)
    os.environ["COPIER_SETTINGS_PATH"] = env["COPIER_SETTINGS_PATH"]
    template = template_repo(work, args.template)
    floor = floor_repo(work)
    dirs = Counter(work)
    pairs = 5 if args.quick else 15

    def cli(command: str, *args: str, cwd: Path | None = None) -> None:
        """Copier's CLI as a user runs it, from the same environment as this script."""
        subprocess.run(
            [sys.executable, "-m", "copier", command, "--defaults", "--quiet", *args],
            cwd=cwd,
            check=True,
            env=env,
            capture_output=True,
        )

    def cli_copy(src: Path, ref: str = "v1.0.1") -> Callable[[], float]:
        def run() -> float:
            dst = dirs.fresh("cli")
            start = time.perf_counter()
            cli("copy", "--vcs-ref", ref, str(src), str(dst))
            return time.perf_counter() - start

        return run

    import copier  # after COPIER_SETTINGS_PATH is set

    def inprocess_copy(src: Path) -> Callable[[], float]:
        def run() -> float:
            dst = dirs.fresh("inproc")
            start = time.perf_counter()
            copier.run_copy(str(src), str(dst), defaults=True, unsafe=False, quiet=True)
            return time.perf_counter() - start

        return run

    figures: list[Figure | Skipped] = []
    files = sum(1 for p in (template / "template").rglob("*") if p.is_file())
    jinja_files = sum(1 for p in (template / "template").rglob("*.jinja"))

    subject, base = alternate(cli_copy(template), cli_copy(floor), pairs)
    figures.append(
        Figure(
            "copier copy, CLI, default answers",
            median(subject),
            "s",
            len(subject),
            median(base),
            "one-file template",
            "<= 1.5x floor",
            1.5,
            extra={"template_files": files, "jinja_files": jinja_files},
        )
    )

    subject, base = alternate(inprocess_copy(template), inprocess_copy(floor), pairs)
    figures.append(
        Figure(
            "copier.run_copy, in-process",
            median(subject),
            "s",
            len(subject),
            median(base),
            "one-file template",
            "<= 1.5x floor",
            1.5,
        )
    )

    # copier update needs a project in git with a clean tree; each run gets its own copy.
    def project_at_v1(src: Path) -> Path:
        dst = dirs.fresh("project")
        cli("copy", "--vcs-ref", "v1.0.0", str(src), str(dst))
        git_repo(dst, [])
        return dst

    def cli_update(project: Path) -> Callable[[], float]:
        def run() -> float:
            dst = dirs.fresh("update")
            shutil.copytree(project, dst, symlinks=True)
            start = time.perf_counter()
            cli("update", "--vcs-ref", "v1.0.1", cwd=dst)
            return time.perf_counter() - start

        return run

    subject, base = alternate(
        cli_update(project_at_v1(template)), cli_update(project_at_v1(floor)), max(3, pairs // 2)
    )
    figures.append(
        Figure(
            "copier update v1.0.0 -> v1.0.1, CLI",
            median(subject),
            "s",
            len(subject),
            median(base),
            "one-file template",
            "<= 1.5x floor",
            1.5,
        )
    )
    return figures


def profile_generation(args: argparse.Namespace, work: Path) -> None:
    """Print where one in-process copy of the default answers spends its time."""
    import cProfile
    import pstats

    os.environ["COPIER_SETTINGS_PATH"] = copier_env(work)["COPIER_SETTINGS_PATH"]
    import copier

    template = template_repo(work, args.template)
    copier.run_copy(str(template), str(work / "warm"), defaults=True, unsafe=False, quiet=True)
    profiler = cProfile.Profile()
    profiler.enable()
    copier.run_copy(str(template), str(work / "profiled"), defaults=True, unsafe=False, quiet=True)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(40)
    calls = {
        key[2]: value[1]
        for key, value in stats.stats.items()  # type: ignore[attr-defined]
        if key[2] in ("__init__", "run", "_render_file", "_render_template")
    }
    print("calls:", calls)


# --------------------------------------------------------------------------- main

BENCHMARKS: dict[str, Callable[[argparse.Namespace, Path], list[Figure | Skipped]]] = {
    "generation": bench_generation,
}


def machine() -> dict:
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


def print_table(results: list[Figure | Skipped]) -> None:
    rows = [("benchmark", "median", "baseline (same run)", "ratio", "goal", "runs")]
    for r in results:
        if isinstance(r, Skipped):
            rows.append((r.name, "skipped", r.reason, "", "", ""))
            continue
        baseline = f"{format_value(r.baseline, r.unit)} {r.baseline_name}" if r.baseline else ""
        ratio = f"{r.ratio:.2f}x" if r.ratio else ""
        goal = f"{r.goal} {'met' if r.met else 'NOT met'}" if r.met is not None else r.goal
        rows.append((r.name, format_value(r.value, r.unit), baseline, ratio, goal, str(r.runs)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    parser.add_argument("--profile", action="store_true", help="profile one generation and exit")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.template = args.template.resolve()

    # 1,000 open streams need more file descriptors than the usual soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        if args.profile:
            profile_generation(args, work)
            return 0
        results: list[Figure | Skipped] = []
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
