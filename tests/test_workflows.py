"""The generated GitHub configuration: CI workflow, Dependabot, pre-commit.

Every workflow passes actionlint, zizmor and GitHub's schema for every answer set, and the
jobs and steps present are exactly the ones the answers call for (asserted on the parsed
YAML, not on its text).
"""

from __future__ import annotations

import re

import pytest
import yaml

import linters
from harness.answer_sets import ANSWER_SETS

ALL = list(ANSWER_SETS)
PINNED_ACTION = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def _workflow(project, name: str = "ci.yml") -> dict:
    return yaml.safe_load(project.read(f".github/workflows/{name}"))


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    triggers: dict = workflow["on"] if "on" in workflow else workflow[True]
    return triggers


def _runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def _uses(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def test_workflows_pass_actionlint_zizmor_and_the_schema(rendered):
    """One run of each linter over every answer set's files (a run costs ~1 s); each
    finding names the file, whose path names the answer set."""
    workflows, dependabots = [], []
    for name in ALL:
        github = rendered(name).path / ".github"
        found = sorted((github / "workflows").glob("*.yml"))
        assert github / "workflows" / "ci.yml" in found, name
        workflows += found
        dependabots.append(github / "dependabot.yml")
    assert linters.actionlint(*workflows) == ""
    assert linters.check_jsonschema("vendor.github-workflows", *workflows) == ""
    assert linters.check_jsonschema("vendor.dependabot", *dependabots) == ""
    assert linters.zizmor(*workflows, *dependabots) == ""


def test_the_linters_can_fail(tmp_path):
    """The test above must be able to fail on the kind of mistake it guards against."""
    workflow = tmp_path / "bad.yml"
    workflow.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
    )
    assert linters.actionlint(workflow)
    assert linters.zizmor(workflow)


@pytest.mark.parametrize("name", ALL)
def test_every_action_is_pinned_to_a_commit(rendered, name):
    project = rendered(name)
    for workflow in (project.path / ".github" / "workflows").glob("*.yml"):
        for line in workflow.read_text().splitlines():
            if "uses:" in line:
                assert PINNED_ACTION.match(line), f"{workflow.name}: {line.strip()}"


@pytest.mark.parametrize("name", ALL)
def test_ci_runs_when_and_as_it_should(rendered, name):
    workflow = _workflow(rendered(name))
    triggers = _triggers(workflow)
    assert triggers["push"]["branches"] == ["main", "master", "develop"]
    assert "pull_request" in triggers
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]
    for job_name, job in workflow["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 30, job_name
        for checkout in _uses(job, "actions/checkout"):
            assert checkout["with"]["persist-credentials"] is False, job_name


@pytest.mark.parametrize("name", ALL)
def test_backend_job_lints_tests_against_postgres_and_audits(rendered, name):
    project = rendered(name)
    answers = project.answers
    job = _workflow(project)["jobs"]["backend"]
    assert job["defaults"]["run"]["working-directory"] == "backend"

    (python,) = _uses(job, "actions/setup-python")
    version_file = python["with"]["python-version-file"]
    assert project.read(version_file).strip() == answers["python_version"]
    assert python["with"]["cache"] == "pip"

    postgres = job["services"]["postgres"]
    assert postgres["image"] == f"postgres:{answers['postgres_major']}"
    assert job["env"]["DATABASE_URL"].startswith("postgresql://")

    runs = _runs(job)
    expected = [
        "pip install -r requirements-dev.txt",
        "ruff check .",
        "ruff format --check .",
        "pytest",
    ]
    assert runs[: len(expected)] == expected
    audit = runs[len(expected)]
    assert re.search(r"^pip install pip-audit==\d", audit, re.M)
    assert "pip-audit --requirement requirements.txt" in audit


@pytest.mark.parametrize("name", ALL)
def test_flutter_jobs_only_with_the_frontend(rendered, name):
    project = rendered(name)
    answers = project.answers
    jobs = _workflow(project)["jobs"]
    flutter_jobs = {n for n, job in jobs.items() if _uses(job, "subosito/flutter-action")}
    if not answers["include_frontend"]:
        assert not flutter_jobs
        assert not any("flutter" in run for job in jobs.values() for run in _runs(job))
        return
    platforms = set(answers["flutter_platforms"])
    builds = {f"frontend-{platform}": platform for platform in platforms}
    assert flutter_jobs == {"frontend", *builds}

    for job_name in flutter_jobs:
        job = jobs[job_name]
        assert job["defaults"]["run"]["working-directory"] == "frontend"
        (flutter,) = _uses(job, "subosito/flutter-action")
        assert flutter["with"]["cache"] is True
        assert str(flutter["with"]["flutter-version"]) == answers["flutter_version"]

    test_runs = _runs(jobs["frontend"])
    assert test_runs == [
        "flutter pub get",
        "dart format --output=none --set-exit-if-changed .",
        "flutter analyze",
        "flutter test",
    ]
    backend = f"--dart-define=BACKEND_URL={answers['backend_url']}"
    built = {
        "web": ["flutter pub get", f"flutter build web --release {backend}"],
        "android": [
            "flutter create --empty --platforms=android --org com.example .",
            f"flutter build apk --debug {backend}",
        ],
        "ios": [
            "flutter create --empty --platforms=ios --org com.example .",
            f"flutter build ios --no-codesign {backend}",
        ],
    }
    for job_name, platform in builds.items():
        job = jobs[job_name]
        assert job["needs"] == "frontend"
        assert _runs(job) == built[platform], job_name
        assert job["runs-on"] == ("macos-latest" if platform == "ios" else "ubuntu-latest")


@pytest.mark.parametrize("name", ALL)
def test_railway_config_is_type_checked_with_railway(rendered, name):
    project = rendered(name)
    jobs = _workflow(project)["jobs"]
    assert ("railway-config" in jobs) == project.answers["use_railway"]
    if project.answers["use_railway"]:
        job = jobs["railway-config"]
        assert job["defaults"]["run"]["working-directory"] == ".railway"
        (node,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-node@")]
        assert int(node["with"]["node-version"]) >= 22, "the railway SDK needs Node 22+"
        install, check = _runs(job)[-2:]
        assert install.startswith("npm ci "), "install exactly the committed lock"
        assert check == "npm run check"


def test_default_workflow_is_long_enough_and_tests_flutter(rendered):
    """The issue's yardstick for the default answers."""
    text = rendered("default").read(".github/workflows/ci.yml")
    assert len(text.splitlines()) >= 40
    assert "flutter test" in text


@pytest.mark.parametrize("name", ALL)
def test_dependabot_watches_what_exists(rendered, name):
    project = rendered(name)
    answers = project.answers
    config = yaml.safe_load(project.read(".github/dependabot.yml"))
    watched = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    expected = {("pip", "/backend"), ("github-actions", "/")}
    if answers["include_frontend"]:
        expected.add(("pub", "/frontend"))
    if answers["use_railway"]:
        expected.add(("npm", "/.railway"))
    assert watched == expected
    for ecosystem, directory in watched - {("github-actions", "/")}:
        assert (project.path / directory.lstrip("/")).is_dir(), ecosystem


@pytest.mark.parametrize("name", ["default", "none-nofrontend"])
def test_pre_commit_runs_ruff_and_the_merge_conflict_check(rendered, name):
    project = rendered(name)
    config = yaml.safe_load(project.read(".pre-commit-config.yaml"))
    hooks = {hook["id"]: repo for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "check-merge-conflict"} <= set(hooks)
    for repo in config["repos"]:
        assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"]), repo["repo"]
    requirements = project.path / "backend" / "requirements-dev.txt"
    pinned = (
        re.search(r"^ruff==(\S+)", requirements.read_text(), re.M)
        if requirements.exists()
        else None
    )
    if pinned:
        # The hook and the backend's own ruff must agree, or they fight over formatting.
        assert hooks["ruff-check"]["rev"] == f"v{pinned[1]}"
