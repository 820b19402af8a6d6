"""The repository's own promises: README commands, CI entry point, docs."""

from __future__ import annotations

import re

from harness.project import REPO


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if not line.startswith("#")]


def test_readme_has_the_two_setup_commands() -> None:
    generate, test = _readme_commands()[:2]
    assert "copier copy gh:org/copier-fastapi-flutter newapp" in generate
    assert "pytest" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = _readme_commands()[1]
    ci = (REPO / ".ci/run").read_text().splitlines()
    assert test_command in ci


def test_own_python_is_ruff_clean() -> None:
    from linters import ruff

    assert ruff(REPO) == ""


def test_own_python_type_checks() -> None:
    """mypy over harness/, bench/ and tests/, as configured in pyproject.toml."""
    from linters import mypy

    assert mypy(REPO) == ""
