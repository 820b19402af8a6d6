"""The generated GitHub configuration: CI workflow, Dependabot, pre-commit.

Every workflow passes actionlint, zizmor and GitHub's schema for every answer set, and the
jobs and steps present are exactly the ones the answers call for (asserted on the parsed
YAML, not on its text).
"""

from __future__ import annotations

import re
import tomllib

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
def test_backend_job_installs_the_lock_lints_types_tests_and_audits(rendered, name):
    project = rendered(name)
    answers = project.answers
    job = _workflow(project)["jobs"]["backend"]
    assert job["defaults"]["run"]["working-directory"] == "backend"

    (python,) = _uses(job, "actions/setup-python")
    version_file = python["with"]["python-version-file"]
    assert project.read(version_file).strip() == answers["python_version"]
    (uv,) = _uses(job, "astral-sh/setup-uv")
    # Its uv comes from the floor the project itself declares; the cache is keyed on the lock.
    pyproject = tomllib.loads(project.read(uv["with"]["version-file"]))
    assert pyproject["tool"]["uv"]["required-version"].startswith(">=")
    assert uv["with"]["cache-dependency-glob"] == "backend/uv.lock"

    postgres = job["services"]["postgres"]
    assert postgres["image"] == f"postgres:{answers['postgres_major']}"
    assert job["env"]["DATABASE_URL"].startswith("postgresql://")

    runs = _runs(job)
    # requirements.txt is checked with the very command its header says made it.
    export = project.read("backend/requirements.txt").splitlines()[1].removeprefix("#").strip()
    assert runs[0] == "uv sync --locked"
    assert runs[1].splitlines()[:2] == [export, "git diff --exit-code -- requirements.txt || {"]
    assert runs[2:-1] == [
        "uv run ruff check .",
        "uv run ruff format --check .",
        "uv run mypy",
        "uv run pytest",
    ]
    assert re.fullmatch(
        r"uvx pip-audit==\d+\.\d+\.\d+ --disable-pip --requirement requirements.txt", runs[-1]
    )


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
    expected = {("uv", "/backend"), ("github-actions", "/")}
    if answers["include_frontend"]:
        expected.add(("pub", "/frontend"))
    if answers["use_railway"]:
        expected.add(("npm", "/.railway"))
    assert watched == expected
    for ecosystem, directory in watched - {("github-actions", "/")}:
        assert (project.path / directory.lstrip("/")).is_dir(), ecosystem


@pytest.mark.parametrize("name", ["default", "none-nofrontend"])
def test_pre_commit_runs_ruff_mypy_and_the_merge_conflict_check(rendered, name):
    project = rendered(name)
    config = yaml.safe_load(project.read(".pre-commit-config.yaml"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    revs = {hook["id"]: repo.get("rev") for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "check-merge-conflict", "mypy"} <= set(hooks)
    for repo in config["repos"]:
        if repo["repo"] != "local":
            assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"]), repo["repo"]
    # The hook and the backend's own ruff must agree, or they fight over formatting.
    pyproject = tomllib.loads(project.read("backend/pyproject.toml"))
    (ruff,) = [p for p in pyproject["dependency-groups"]["dev"] if p.startswith("ruff==")]
    assert revs["ruff-check"] == "v" + ruff.removeprefix("ruff==")
    # mypy is the backend's locked one, run over the whole backend as CI runs it.
    mypy = hooks["mypy"]
    assert mypy["entry"] == "uv run --directory backend --locked mypy"
    assert mypy["language"] == "unsupported" and mypy["pass_filenames"] is False
