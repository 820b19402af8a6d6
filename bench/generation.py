"""Generation: `copier copy` and `copier update` of this template next to Copier's own
floor, a one-file template, alternated in the same run; and the template's conditional
path parts, the per-path work Copier does whatever the answers."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.figures import Figure, Result, alternate, median, rotate
from bench.projects import Counter, copier_env, git_repo
from harness.project import copy_template

CONDITION = re.compile(r"\{%-?\s*if\b")


def conditional_path_parts(template: Path) -> set[str]:
    """Every distinct file or folder name under template/ that holds an {% if %}: each
    one gates a path, and Copier renders every such name for every copy."""
    root = template / "template"
    return {
        part
        for path in root.rglob("*")
        for part in path.relative_to(root).parts
        if CONDITION.search(part)
    }


def template_repo(work: Path, source: Path, name: str = "template-repo") -> Path:
    """A template (copier.yml, hooks/, template/) as its own git repository."""
    return git_repo(copy_template(work / name, source), ["v1.0.0", "v1.0.1"], force=True)


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


def against_floor(name: str, subject: list[float], base: list[float], **kwargs: Any) -> Figure:
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


def shape(template: Path) -> dict[str, int]:
    root = template / "template"
    return {
        "template_files": sum(1 for p in root.rglob("*") if p.is_file()),
        "jinja_files": sum(1 for _ in root.rglob("*.jinja")),
        "conditional_path_parts": len(conditional_path_parts(template)),
    }


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    env = copier_env(work)
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

    import copier  # after copier_env() set COPIER_SETTINGS_PATH

    def inprocess_copy(src: Path) -> Callable[[], float]:
        def run() -> float:
            dst = dirs.fresh("inproc")
            start = time.perf_counter()
            copier.run_copy(str(src), str(dst), defaults=True, unsafe=False, quiet=True)
            return time.perf_counter() - start

        return run

    figures: list[Result] = []
    parts = shape(template)
    compare = template_repo(work, args.compare, "compare-repo") if args.compare else None
    figures.append(
        Figure(
            "template: conditional path parts",
            parts["conditional_path_parts"],
            "parts",
            1,
            shape(compare)["conditional_path_parts"] if compare else None,
            f"--compare {args.compare}" if compare else "",
            extra=parts,
        )
    )

    if compare:
        # The other template (an earlier release) takes its turns in the same rotation,
        # so both are read against the very same floor runs.
        subject, earlier, base = rotate(
            [cli_copy(template), cli_copy(compare), cli_copy(floor)], pairs
        )
        figures.append(
            against_floor(
                "copier copy, CLI, default answers, --compare template",
                earlier,
                base,
                note=str(args.compare),
                extra=shape(compare),
            )
        )
    else:
        subject, base = alternate(cli_copy(template), cli_copy(floor), pairs)
    figures.append(against_floor("copier copy, CLI, default answers", subject, base, extra=parts))

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


def profile(args: argparse.Namespace, work: Path) -> None:
    """Print where one in-process copy of the default answers spends its time."""
    import cProfile
    import pstats

    copier_env(work)
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
