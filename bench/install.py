"""Day one, timed: from `copier copy` to a backend answering /health, by the commands the
generated README gives, with pip and with uv in the same run, each with a cold package
cache (an empty one) and a warm one (filled by a first install). Goal: 15 s or less cold.

Each journey is timed in phases (copy, each README line, start until /health answers),
so the table's note says where the time goes."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.figures import Figure, Result, Skipped, median
from bench.projects import Counter, copier_env, has_backend
from harness.project import copy_template
from harness.service import free_port, get

# The machine's own interpreter, so the README's `python3.X -m venv` works as typed here;
# otherwise the default answers (every integration: the most packages to install).
ANSWERS = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"}
GOAL_SECONDS = 15.0


def readme_journeys(readme: str) -> dict[str, list[str]]:
    """The README's ways from `cd backend` to `uvicorn main:app`, by installer: each
    fenced block that starts the development server. A README with pip only gets uv's
    equivalent of its lines (`uv venv`, `uv pip install`), so the two still compare."""
    journeys: dict[str, list[str]] = {}
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        lines = [line.split("  #")[0].strip() for line in block.splitlines()]
        lines = [line for line in lines if line and not line.startswith("#")]
        if lines[:1] != ["cd backend"] or not lines[-1].startswith("uvicorn main:app"):
            continue
        tool = "uv" if any(line.startswith("uv ") for line in lines) else "pip"
        journeys.setdefault(tool, lines)
    if "pip" in journeys and "uv" not in journeys:
        journeys["uv (from the pip lines)"] = [
            re.sub(r"^python[\d.]* -m venv \.venv", "uv venv --quiet .venv", line).replace(
                "pip install", "uv pip install"
            )
            for line in journeys["pip"]
        ]
    return journeys


def clean_env(cache: Path) -> dict[str, str]:
    """A user's shell: no pip or uv settings of this machine's, the caches in `cache`,
    and this environment's bin first so that `uv` (pinned in the test extra) is found."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV", "PYTHON"))
    }
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_CACHE_DIR": str(cache / "pip"),
        "UV_CACHE_DIR": str(cache / "uv"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return env


def copy(template: Path, dst: Path) -> None:
    """`copier copy` by its CLI, as a user runs it (the settings copier_env() chose)."""
    subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--defaults", "--quiet"]
        + [*(f"--data={k}={v}" for k, v in ANSWERS.items()), str(template), str(dst)],
        check=True,
        capture_output=True,
    )


def journey(template: Path, dst: Path, lines: list[str], cache: Path) -> dict[str, float]:
    """Copy, run the README's lines as typed, start the server; seconds per phase."""
    env = clean_env(cache)
    phases: dict[str, float] = {}
    start = time.perf_counter()
    copy(template, dst)
    phases["copier copy"] = time.perf_counter() - start
    cwd = dst / "backend"
    for line in lines[1:-1]:
        t0 = time.perf_counter()
        # Each line in its own shell, after the activation an earlier line made.
        activate = ". .venv/bin/activate && " if (cwd / ".venv/bin/activate").exists() else ""
        subprocess.run(
            ["sh", "-c", activate + line], cwd=cwd, env=env, check=True, capture_output=True
        )
        phases[line] = time.perf_counter() - t0
    t0 = time.perf_counter()
    port = free_port()
    server = subprocess.Popen(
        ["sh", "-c", f". .venv/bin/activate && exec {lines[-1]} --port {port}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"{lines[-1]} exited {server.returncode}")
            with contextlib.suppress(OSError):
                if get(f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200:
                    break
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    phases["start until /health answers"] = time.perf_counter() - t0
    phases["total"] = time.perf_counter() - start
    return phases


def where(phases: list[dict[str, float]]) -> str:
    keys = [k for k in phases[0] if k != "total"]
    return "; ".join(f"{k} {median([p[k] for p in phases]):.1f} s" for k in keys)


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    name = "install: copier copy to /health"
    if not has_backend(args):
        return [Skipped(name, "no template/backend yet")]
    copier_env(work)
    template = copy_template(work / "template-plain", args.template)
    # The README as rendered for these answers says which commands a user types.
    probe = work / "readme-probe"
    copy(template, probe)
    journeys = readme_journeys((probe / "README.md").read_text())
    shutil.rmtree(probe)
    if "pip" not in journeys:
        return [Skipped(name, "the generated README has no pip block from cd backend to uvicorn")]
    uv = next(tool for tool in journeys if tool.startswith("uv"))
    runs = 1 if args.quick else 3
    dirs = Counter(work)
    times: dict[tuple[str, str], list[dict[str, float]]] = {}
    warm_cache = work / "warm-cache"
    for tool in ("pip", uv):  # fill the warm cache once per installer
        journey(template, dirs.fresh("warm-up"), journeys[tool], warm_cache)
    for i in range(runs):
        order = [("pip", "cold"), (uv, "cold"), ("pip", "warm"), (uv, "warm")]
        for tool, cache in order if i % 2 == 0 else reversed(order):
            cache_dir = dirs.fresh("cold-cache") if cache == "cold" else warm_cache
            phases = journey(template, dirs.fresh(tool.split()[0]), journeys[tool], cache_dir)
            times.setdefault((tool, cache), []).append(phases)
            if cache == "cold":
                shutil.rmtree(cache_dir, ignore_errors=True)

    figures: list[Result] = []
    for cache in ("cold", "warm"):
        subject, base = times[(uv, cache)], times[("pip", cache)]
        extra: dict[str, Any] = {
            "answers": ANSWERS,
            "commands": {tool: journeys[tool] for tool in ("pip", uv)},
            "uv_phases": subject,
            "pip_phases": base,
        }
        figures.append(
            Figure(
                f"{name}, {uv}, {cache} package cache",
                median([p["total"] for p in subject]),
                "s",
                len(subject),
                median([p["total"] for p in base]),
                f"pip, {cache} cache, same run",
                "<= 15 s" if cache == "cold" else "",
                goal_value=GOAL_SECONDS if cache == "cold" else None,
                note=f"uv: {where(subject)} | pip: {where(base)}",
                extra=extra,
            )
        )
    return figures
