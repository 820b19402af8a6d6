"""Releases: PEP 440 tags with a CHANGELOG entry that tells updating users what to do."""

from __future__ import annotations

import re
import tomllib

from harness.project import REPO

CHANGELOG = (REPO / "CHANGELOG.md").read_text()
RELEASE_HEADING = re.compile(r"^## \[(?P<tag>[^\]]+)\](?: - (?P<date>.*))?$", re.MULTILINE)
# The tags `copier update` understands: v + a PEP 440 public version.
PEP440_TAG = re.compile(r"^v\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?$")


def releases() -> list[tuple[str, str]]:
    """(tag, body) of every released entry, newest first."""
    headings = list(RELEASE_HEADING.finditer(CHANGELOG))
    ends = [h.start() for h in headings[1:]] + [len(CHANGELOG)]
    return [
        (h["tag"], CHANGELOG[h.end() : end])
        for h, end in zip(headings, ends, strict=True)
        if h["tag"] != "Unreleased"
    ]


def test_changelog_opens_with_unreleased_then_pep440_releases() -> None:
    (first, *_) = RELEASE_HEADING.finditer(CHANGELOG)
    assert first["tag"] == "Unreleased"
    tags = [tag for tag, _ in releases()]
    assert tags, "no release in CHANGELOG.md"
    assert all(PEP440_TAG.match(tag) for tag in tags), tags
    assert len(set(tags)) == len(tags)


def test_every_release_says_what_an_updating_user_must_know() -> None:
    for tag, body in releases():
        assert body.lstrip().startswith("### Updating\n"), tag


def test_pyproject_version_is_the_newest_release() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    newest_tag, _ = releases()[0]
    assert newest_tag == f"v{version}"
