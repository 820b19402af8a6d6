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
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results.json"
TEMPLATE_PARTS = ("copier.yml", "hooks", "locks", "template")
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
    note: str = ""
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


def against_floor(name: str, subject: list[float], base: list[float], **kwargs) -> Figure:
    """A generation figure: seconds, read against the one-file template's, goal 1.5x."""
    return Figure(
        name,
        median(subject),
        "s",
        len(subject),
        median(base),
        "one-file template",
        "<= 1.5x floor",
        1.5,
        **kwargs,
    )


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
    return git_repo(plain_template(work, source, "template-repo"), ["v1.0.0", "v1.0.1"], force=True)


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
        against_floor(
            "copier copy, CLI, default answers",
            subject,
            base,
            extra={"template_files": files, "jinja_files": jinja_files},
        )
    )

    subject, base = alternate(inprocess_copy(template), inprocess_copy(floor), pairs)
    figures.append(against_floor("copier.run_copy, in-process", subject, base))

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
    figures.append(against_floor("copier update v1.0.0 -> v1.0.1, CLI", subject, base))
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


# --------------------------------------------------------------------------- service

sys.path.insert(0, str(REPO / "tests"))

from backend_env import backend_env, backend_venv  # noqa: E402
from gunicorn_service import Service  # noqa: E402

BARE_APP = '''\
"""The baseline: a bare FastAPI app, one health route and one SSE route paced like the
generated backend's offline provider, with no database, settings or middleware."""

import asyncio
import json

from fastapi import FastAPI, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/chat/stream", response_class=EventSourceResponse)
async def stream(request: Request) -> EventSourceResponse:
    words = (await request.json())["message"].split(" ")

    async def events():
        yield ServerSentEvent(event="start", data=json.dumps({"conversation_id": "1"}))
        for word in words:
            yield ServerSentEvent(event="delta", data=json.dumps({"text": word}))
            await asyncio.sleep(0.01)
        yield ServerSentEvent(event="done", data=json.dumps({"conversation_id": "1"}))

    return EventSourceResponse(events())
'''


def plain_template(work: Path, source: Path, name: str = "template-plain") -> Path:
    """The template as a plain folder: rendered as it is, no clone."""
    dst = work / name
    dst.mkdir()
    for part in TEMPLATE_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dst / part, ignore=IGNORED)
        elif src.exists():
            shutil.copy2(src, dst / part)
    return dst


def render(args: argparse.Namespace, work: Path, name: str, answers: dict) -> tuple[Path, dict]:
    os.environ["COPIER_SETTINGS_PATH"] = copier_env(work)["COPIER_SETTINGS_PATH"]
    import copier

    template = work / "template-plain"
    if not template.exists():
        plain_template(work, args.template)
    dst = work / name
    worker = copier.run_copy(
        str(template), str(dst), data=answers, defaults=True, unsafe=False, quiet=True
    )
    return dst, dict(worker.answers.combined)


def backend_python(args: argparse.Namespace, work: Path) -> Path:
    """The test suite's shared virtualenv: the default answers' uv.lock,
    which has every integration's packages (installed once, then cached)."""
    project = work / "project-default"
    if not project.exists():
        render(args, work, project.name, {})
    print("  the backend's virtualenv (installed once, then cached) ...", file=sys.stderr)
    return backend_venv(project / "backend")


def serve(cwd: Path, answers: dict, python: Path, work: Path, **variables: str) -> Service:
    """The app in `cwd` under the generated start command, 2 workers, on loopback."""
    env = backend_env(python, **variables)
    return Service(cwd, answers["start_command"], python, work, env).start(2)


def has_backend(args: argparse.Namespace) -> bool:
    backend = args.template / "template" / "backend"
    return any(backend.glob("main.py*"))


def loadgen(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "loadgen.py"), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


def bare_app(work: Path) -> Path:
    bare = work / "bare"
    bare.mkdir()
    (bare / "main.py").write_text(BARE_APP)
    return bare


def bench_service(args: argparse.Namespace, work: Path) -> list[Figure | Skipped]:
    name = "service: /health requests per second, 2 workers"
    if not has_backend(args):
        return [Skipped(name, "no template/backend yet")]
    project, answers = render(args, work, "project", {"workers": 2})
    backend = project / "backend"
    python = backend_python(args, work)
    seconds = "3" if args.quick else "5"
    pairs = 3 if args.quick else 7
    connections = "32"

    def load(service: Service) -> Callable[[], float]:
        def run() -> float:
            result = loadgen(
                "http",
                "--port",
                str(service.port),
                "--seconds",
                seconds,
                "--connections",
                connections,
            )
            results[service.port].append(result)
            return result["rps"]

        return run

    with (
        serve(backend, answers, python, work) as generated,
        serve(bare_app(work), answers, python, work) as bare,
    ):
        results: dict[int, list[dict]] = {generated.port: [], bare.port: []}
        subject, base = alternate(load(generated), load(bare), pairs)
        errors = sum(r["errors"] + r["requests"] - r["ok"] for r in results[generated.port])
    return [
        Figure(
            name,
            median(subject),
            "req/s",
            len(subject),
            median(base),
            "bare FastAPI app, same command",
            ">= 0.9x bare app",
            0.9,
            higher_is_better=True,
            extra={
                "connections": int(connections),
                "seconds_per_run": float(seconds),
                "errors_or_non_2xx": errors,
                "latency_p50_ms": median([r["latency_p50_ms"] for r in results[generated.port]]),
                "latency_p99_ms": median([r["latency_p99_ms"] for r in results[generated.port]]),
                "bare_latency_p99_ms": median([r["latency_p99_ms"] for r in results[bare.port]]),
                "start_command": answers["start_command"],
            },
        )
    ]


class PeakRss:
    """Samples the workers' resident memory while a load runs; keeps each one's peak."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self.service.worker_pids():
                with contextlib.suppress(OSError):
                    self.peak[pid] = max(self.peak.get(pid, 0), Service.rss_mb(pid))
            self._stop.wait(0.1)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_streaming(args: argparse.Namespace, work: Path) -> list[Figure | Skipped]:
    name = "streaming: concurrent SSE chat streams, 2 workers"
    if not has_backend(args):
        return [Skipped(name, "no template/backend yet")]
    # Chat without sign-in, so a stream needs no token; the offline provider answers.
    project, answers = render(
        args, work, "project-chat", {"workers": 2, "integrations": ["anthropic"]}
    )
    backend = project / "backend"
    python = backend_python(args, work)
    words = "100" if args.quick else "200"
    runs = 1 if args.quick else 3
    database = {"DATABASE_URL": args.database_url} if args.database_url else {}
    figures: list[Figure | Skipped] = []
    with (
        serve(backend, answers, python, work, **database) as generated,
        serve(bare_app(work), answers, python, work) as bare,
    ):
        idle = max(Service.rss_mb(pid) for pid in generated.worker_pids())
        for streams in (100, 500, 1000):
            subject, base, peaks, results = [], [], [], []
            for i in range(runs):
                order = [generated, bare] if i % 2 == 0 else [bare, generated]
                for service in order:
                    with PeakRss(service) as rss:
                        result = loadgen(
                            "sse",
                            "--port",
                            str(service.port),
                            "--streams",
                            str(streams),
                            "--words",
                            words,
                        )
                    if service is generated:
                        subject.append(result["ttfe_p50_ms"])
                        peaks.append(max(rss.peak.values()))
                        results.append(result)
                    else:
                        base.append(result["ttfe_p50_ms"])
            figures.append(
                Figure(
                    f"streaming: {streams} streams, time to first event p50",
                    median(subject),
                    "ms",
                    len(subject),
                    median(base),
                    "bare FastAPI SSE route",
                    note=(
                        f"errors {max(r['errors'] for r in results)}/{streams}, "
                        f"peak open {min(r['peak_open'] for r in results)}, "
                        f"p99 {median([r['ttfe_p99_ms'] for r in results]):.0f} ms, "
                        f"peak RSS {median(peaks):.0f} MB/worker"
                    ),
                    extra={
                        "streams": streams,
                        "words_per_stream": int(words),
                        "completed": min(r["completed"] for r in results),
                        "errors": max(r["errors"] for r in results),
                        "error_kinds": [r["error_kinds"] for r in results if r["errors"]],
                        "peak_open": min(r["peak_open"] for r in results),
                        "ttfe_p99_ms": median([r["ttfe_p99_ms"] for r in results]),
                        "peak_rss_mb_per_worker": median(peaks),
                        "idle_rss_mb_per_worker": idle,
                        "database": "postgres" if args.database_url else "sqlite",
                    },
                )
            )
    return figures


# --------------------------------------------------------------------------- tests


def bench_tests(args: argparse.Namespace, work: Path) -> list[Figure | Skipped]:
    """Wall time of this repository's suite and of a generated backend's own suite."""
    figures: list[Figure | Skipped] = []
    start = time.perf_counter()
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=args.template,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
    figures.append(
        Figure("tests: this repository's suite (-n 2)", elapsed, "s", 1, extra={"summary": summary})
    )
    if not has_backend(args):
        figures.append(Skipped("tests: generated backend suite", "no template/backend yet"))
        return figures
    project, _ = render(args, work, "project", {})
    backend = project / "backend"
    python = backend_python(args, work)
    start = time.perf_counter()
    suite = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=backend,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
    figures.append(
        Figure("tests: generated backend suite", elapsed, "s", 1, extra={"summary": summary})
    )
    return figures


# --------------------------------------------------------------------------- main

BENCHMARKS: dict[str, Callable[[argparse.Namespace, Path], list[Figure | Skipped]]] = {
    "generation": bench_generation,
    "service": bench_service,
    "streaming": bench_streaming,
    "tests": bench_tests,
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


def print_table(results: list[Figure | Skipped], markdown: bool = False) -> None:
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


def load_results(path: Path) -> list[Figure | Skipped]:
    saved = json.loads(path.read_text())
    fields = set(Figure.__dataclass_fields__)
    figures: list[Figure | Skipped] = [
        Figure(**{k: v for k, v in f.items() if k in fields}) for f in saved["figures"]
    ]
    return figures + [Skipped(**s) for s in saved["skipped"]]


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
    if args.markdown:
        print_table(load_results(args.output), markdown=True)
        return 0

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
