"""The template repository's own CI: it runs this suite, and passes the linters the
generated projects' workflows must pass."""

from __future__ import annotations

import yaml

from harness.project import REPO
from linters import actionlint, check_jsonschema, zizmor

TESTS_WORKFLOW = REPO / ".github/workflows/tests.yml"


def test_tests_workflow_is_lint_clean() -> None:
    assert actionlint(TESTS_WORKFLOW) == ""
    assert zizmor(TESTS_WORKFLOW) == ""
    assert check_jsonschema("vendor.github-workflows", TESTS_WORKFLOW) == ""


def test_tests_workflow_runs_the_suite_on_every_change_and_weekly() -> None:
    workflow = yaml.safe_load(TESTS_WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["timeout-minutes"] <= 60
    postgres = job["services"]["postgres"]
    assert postgres["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert postgres["env"]["POSTGRES_DB"] == "test"
    assert postgres["ports"] == ["5432:5432"]
    # The same entry point a developer runs, so CI cannot drift from the README.
    assert [step["run"] for step in job["steps"] if "run" in step] == ["bash .ci/run"]
