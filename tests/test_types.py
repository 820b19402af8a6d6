"""mypy --strict over every answer set's generated backend, with the packages its lock
installs: the check its CI and pre-commit run."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from harness.answer_sets import ANSWER_SETS
from harness.backend import CACHE, backend_env


@pytest.fixture(scope="session")
def mypy_cache(worker_id: str) -> Path:
    """One cache for every render (they share most modules, and all of site-packages),
    one per xdist worker so that no two mypy processes write to it at once."""
    return CACHE / f"mypy-cache-{worker_id}"


@pytest.mark.slow
@pytest.mark.parametrize("name", ANSWER_SETS)
def test_backend_is_clean_under_mypy_strict(
    rendered, backend_python: Path, mypy_cache: Path, name: str
) -> None:
    backend = rendered(name).path / "backend"
    config = tomllib.loads((backend / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True and config["files"] == ["."]
    result = subprocess.run(
        [str(backend_python), "-m", "mypy", "--cache-dir", str(mypy_cache)],
        cwd=backend,
        env=backend_env(backend_python),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout
