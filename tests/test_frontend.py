"""The generated Flutter app, checked without a Flutter SDK (none installs here).

The generated CI runs `flutter analyze`, `dart format` and `flutter test`; this file checks
what can be checked without them, for every answer set: each Dart file parses
(tree-sitter-dart), each import resolves to a declared package, an SDK library or a file,
nothing in lib/ is dead, the YAML and JSON parse, each test folder holds tests, the files
follow the formatter's plain rules, and the screens present match the answers.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
import tree_sitter_dart
import yaml
from tree_sitter import Language, Node, Parser

from harness.answer_sets import ANSWER_SETS

WITH_FRONTEND = [n for n, a in ANSWER_SETS.items() if a.get("include_frontend", True)]
WITHOUT_FRONTEND = [n for n in ANSWER_SETS if n not in WITH_FRONTEND]

# Dart libraries that work on the web and in `flutter test` alike (no dart:io, dart:html).
PORTABLE_DART_LIBRARIES = {"async", "collection", "convert", "core", "math", "typed_data"}
TEST_DIRS = ("unit", "widget", "integration")


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_dart.language()))


def _nodes(node: Node):
    yield node
    for child in node.children:
        yield from _nodes(child)


def _syntax_errors(source: bytes) -> list[str]:
    tree = _parser().parse(source)
    return [
        f"line {n.start_point[0] + 1}: {'missing' if n.is_missing else 'error'} "
        f"{source[n.start_byte : n.end_byte][:60]!r}"
        for n in _nodes(tree.root_node)
        if n.type == "ERROR" or n.is_missing
    ]


def _imports(source: bytes) -> list[str]:
    """The URIs of a file's imports, exports and parts."""
    tree = _parser().parse(source)
    return [
        source[n.start_byte : n.end_byte].decode().strip("'\"")
        for n in _nodes(tree.root_node)
        if n.type == "uri"
    ]


def _frontend(rendered, name: str) -> tuple[Path, dict]:
    project = rendered(name)
    return project.path / "frontend", project.answers


def _dart_files(frontend: Path) -> list[Path]:
    return sorted(frontend.rglob("*.dart"))


def _pubspec(frontend: Path) -> dict:
    return yaml.safe_load((frontend / "pubspec.yaml").read_text())


@pytest.mark.parametrize("name", WITHOUT_FRONTEND)
def test_no_frontend_folder_without_the_frontend(rendered, name):
    project = rendered(name)
    assert not (project.path / "frontend").exists()
    assert not list(project.path.rglob("*.dart"))


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_every_dart_file_parses(rendered, name):
    frontend, _ = _frontend(rendered, name)
    files = _dart_files(frontend)
    assert files
    errors = {
        str(f.relative_to(frontend)): e for f in files if (e := _syntax_errors(f.read_bytes()))
    }
    assert not errors


def test_the_syntax_check_finds_errors():
    """The check above must be able to fail: tree-sitter-dart reports broken code."""
    assert _syntax_errors(b"void main() { final x = ; }")
    assert not _syntax_errors(b"void main() { final x = switch (1) { _ => 2 }; }")


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_every_import_resolves(rendered, name):
    frontend, _ = _frontend(rendered, name)
    pubspec = _pubspec(frontend)
    package = pubspec["name"]
    dependencies = set(pubspec["dependencies"])
    dev_dependencies = set(pubspec.get("dev_dependencies") or {})
    problems = []
    for file in _dart_files(frontend):
        relative = file.relative_to(frontend)
        in_lib = relative.parts[0] == "lib"
        allowed = dependencies if in_lib else dependencies | dev_dependencies
        for uri in _imports(file.read_bytes()):
            where = f"{relative}: {uri}"
            if uri.startswith("dart:"):
                if uri.removeprefix("dart:") not in PORTABLE_DART_LIBRARIES:
                    problems.append(f"{where} does not run on every platform")
            elif uri.startswith("package:"):
                dependency, _, path = uri.removeprefix("package:").partition("/")
                if dependency == package:
                    if not (frontend / "lib" / path).is_file():
                        problems.append(f"{where} is no file under lib/")
                elif dependency not in allowed:
                    problems.append(f"{where} is not a declared dependency")
            elif ":" in uri:
                problems.append(f"{where} has an unknown scheme")
            else:
                target = (file.parent / uri).resolve()
                if not target.is_file():
                    problems.append(f"{where} does not exist")
                elif in_lib != target.is_relative_to((frontend / "lib").resolve()):
                    problems.append(f"{where} crosses between lib/ and test/")
    assert not problems


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_every_library_file_is_used(rendered, name):
    """Everything in lib/ is reachable from main.dart: no screen or helper left over from an
    answer that was not chosen."""
    frontend, _ = _frontend(rendered, name)
    lib = (frontend / "lib").resolve()
    package = _pubspec(frontend)["name"]
    seen: set[Path] = set()
    todo = [lib / "main.dart"]
    while todo:
        file = todo.pop()
        if file in seen or not file.is_file():  # a missing file fails the import test
            continue
        seen.add(file)
        for uri in _imports(file.read_bytes()):
            if uri.startswith(f"package:{package}/"):
                todo.append(lib / uri.removeprefix(f"package:{package}/"))
            elif ":" not in uri:
                todo.append((file.parent / uri).resolve())
    unused = {str(f.relative_to(lib)) for f in set(lib.rglob("*.dart")) - seen}
    assert not unused


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_each_test_folder_holds_tests(rendered, name):
    frontend, _ = _frontend(rendered, name)
    for folder in TEST_DIRS:
        files = sorted((frontend / "test" / folder).glob("*_test.dart"))
        assert files, f"test/{folder}/ has no *_test.dart"
        for file in files:
            assert re.search(r"^\s*(test|testWidgets)\(", file.read_text(), re.M), file.name
    strays = [
        f.relative_to(frontend)
        for f in (frontend / "test").rglob("*")
        if f.is_file() and f.parent.name not in TEST_DIRS
    ]
    assert not strays, "CI runs only test/unit, test/widget and test/integration"


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_dart_files_follow_the_formatters_plain_rules(rendered, name):
    """What `dart format` would surely change: long lines, trailing spaces, runs of blank
    lines, a blank line opening a block, a missing or doubled final newline. (The full
    check is `dart format --set-exit-if-changed` in the generated CI.)"""
    frontend, _ = _frontend(rendered, name)
    problems = []
    for file in _dart_files(frontend):
        text = file.read_text()
        where = file.relative_to(frontend)
        if not text.endswith("\n") or text.endswith("\n\n") or text.startswith("\n"):
            problems.append(f"{where}: starts or ends badly")
        lines = text.split("\n")
        for number, line in enumerate(lines[:-1], 1):
            previous = lines[number - 2] if number > 1 else "x"
            if len(line) > 80:
                problems.append(f"{where}:{number}: longer than 80")
            if line != line.rstrip():
                problems.append(f"{where}:{number}: trailing space")
            if not line and (not previous or previous.endswith("{")):
                problems.append(f"{where}:{number}: needless blank line")
            if "\t" in line:
                problems.append(f"{where}:{number}: tab")
    assert not problems


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_project_files_parse_and_declare_what_ci_needs(rendered, name):
    frontend, answers = _frontend(rendered, name)
    pubspec = _pubspec(frontend)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", pubspec["name"])
    assert pubspec["publish_to"] == "none"
    assert re.fullmatch(r"\^3\.\d+\.\d+", pubspec["environment"]["sdk"]), "Dart 3"
    assert pubspec["dependencies"]["flutter"] == {"sdk": "flutter"}
    assert "http" in pubspec["dependencies"]
    assert pubspec["dev_dependencies"]["flutter_test"] == {"sdk": "flutter"}
    assert ("url_launcher" in pubspec["dependencies"]) == bool(answers["oauth_providers"])
    for section in ("dependencies", "dev_dependencies"):
        for package, constraint in pubspec[section].items():
            assert isinstance(constraint, dict) or re.fullmatch(r"\^\d+\.\d+\.\d+", constraint), (
                package
            )

    options = yaml.safe_load((frontend / "analysis_options.yaml").read_text())
    assert options["include"] == "package:flutter_lints/flutter.yaml"
    assert "flutter_lints" in pubspec["dev_dependencies"]
    assert all(
        options["analyzer"]["language"][f"strict-{m}"] for m in ("casts", "inference", "raw-types")
    )

    manifest = json.loads((frontend / "web" / "manifest.json").read_text())
    assert manifest["name"] == answers["project_name"]
    index = (frontend / "web" / "index.html").read_text()
    assert "flutter_bootstrap.js" in index and "$FLUTTER_BASE_HREF" in index


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_screens_follow_the_answers(rendered, name):
    frontend, answers = _frontend(rendered, name)
    lib = frontend / "lib"
    providers = answers["oauth_providers"]
    config = (lib / "config.dart").read_text()
    assert (
        "const backendUrl = String.fromEnvironment(\n  'BACKEND_URL',\n"
        "  defaultValue: 'http://localhost:8000',\n);"
    ) in config

    assert (lib / "auth").is_dir() == bool(providers)
    if providers:
        listed = re.search(r"const oauthProviders = \[(.*)\];", config)
        assert listed is not None
        assert listed[1] == ", ".join(f"'{p}'" for p in providers)
    else:
        assert "oauthProviders" not in config

    assert (lib / "chat").is_dir() == answers["use_ai"]
    assert (lib / "home").is_dir() == (bool(providers) and not answers["use_ai"])
    assert (lib / "status").is_dir() == (not providers and not answers["use_ai"])
    client = (lib / "api" / "api_client.dart").read_text()
    assert ("'/api/chat/stream'" in client) == answers["use_ai"]
    assert ("'Bearer $token'" in client) == bool(providers)
    assert ("'/api/me'" in client) == bool(providers)
