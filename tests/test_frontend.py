"""The generated Flutter app, checked without a Flutter SDK (none installs here).

The generated CI runs `flutter analyze`, `dart format` and `flutter test`, and the
template's own CI (.github/workflows/flutter.yml) runs them on every answer set; this file
checks what can be checked without them, for every answer set: each Dart file parses
(tree-sitter-dart), each import resolves to a declared package, an SDK library or a file,
every declared package is imported, nothing in lib/ is dead, the YAML, JSON and XML
parse, the tests mirror lib/, the files follow the formatter's plain rules, and the
features and platforms present match the answers.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import copier
import pytest
import tree_sitter_dart
import yaml
from tree_sitter import Language, Node, Parser

from harness.answer_sets import ANSWER_SETS

WITH_FRONTEND = [n for n, a in ANSWER_SETS.items() if a.get("include_frontend", True)]
WITHOUT_FRONTEND = [n for n in ANSWER_SETS if n not in WITH_FRONTEND]

# Dart libraries that work on the web and in `flutter test` alike (no dart:io, dart:html).
PORTABLE_DART_LIBRARIES = {"async", "collection", "convert", "core", "math", "typed_data"}
# Flutter's bundled Material and Cupertino are deprecated from Flutter 3.50 (and
# `flutter analyze` fails on the deprecation): the app imports package:material_ui.
DEPRECATED_IMPORTS = {"package:flutter/material.dart", "package:flutter/cupertino.dart"}
# Declared for what they bring besides Dart code.
NOT_IMPORTED = {"flutter_lints"}
ANDROID = "{http://schemas.android.com/apk/res/android}"


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
def test_every_declared_package_is_imported(rendered, name):
    """Nothing in pubspec.yaml that no file uses (Dependabot would keep it current for
    nothing), and no deprecated SDK library imported."""
    frontend, _ = _frontend(rendered, name)
    pubspec = _pubspec(frontend)
    imports = {uri for file in _dart_files(frontend) for uri in _imports(file.read_bytes())}
    used = {uri.removeprefix("package:").split("/")[0] for uri in imports}
    declared = set(pubspec["dependencies"]) | set(pubspec["dev_dependencies"])
    assert declared - used == NOT_IMPORTED
    assert not imports & DEPRECATED_IMPORTS


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_tests_mirror_lib(rendered, name):
    """test/ mirrors lib/: each test file tests the library file at the same path, each
    feature folder of lib/ has its tests, and every test file holds tests."""
    frontend, _ = _frontend(rendered, name)
    lib, test = frontend / "lib", frontend / "test"
    tests = sorted(test.rglob("*_test.dart"))
    assert tests
    for file in tests:
        relative = file.relative_to(test)
        tested = lib / relative.parent / file.name.replace("_test.dart", ".dart")
        assert tested.is_file(), f"test/{relative} tests no file of lib/"
        assert re.search(r"^\s*(test|testWidgets)\(", file.read_text(), re.M), relative
    for folder in (p for p in lib.iterdir() if p.is_dir()):
        assert list((test / folder.name).glob("*_test.dart")), f"lib/{folder.name} untested"
    assert not (test / "widget_test.dart").exists()


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
    # The Flutter CI pins (hooks/versions.yml) is the oldest the app is written for.
    assert pubspec["environment"]["flutter"] == f">={answers['flutter_version']}"
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

    if "web" in answers["flutter_platforms"]:
        manifest = json.loads((frontend / "web" / "manifest.json").read_text())
        assert manifest["name"] == answers["project_name"]
        index = (frontend / "web" / "index.html").read_text()
        assert "flutter_bootstrap.js" in index and "$FLUTTER_BASE_HREF" in index


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_features_follow_the_answers(rendered, name):
    """One folder per feature, in lib/ and in test/: sign-in with a provider, chat with
    the AI, the history with both, and the status home screen without chat."""
    frontend, answers = _frontend(rendered, name)
    signs_in, chats = bool(answers["oauth_providers"]), answers["use_ai"]
    features = {"auth": signs_in, "chat": chats, "conversations": signs_in and chats}
    features["home"] = not chats
    for folder in ("lib", "test"):
        present = {p.name for p in (frontend / folder).iterdir() if p.is_dir()}
        assert present - {"api"} == {f for f, wanted in features.items() if wanted}, folder

    pubspec = _pubspec(frontend)["dependencies"]
    platforms = set(answers["flutter_platforms"])
    native = bool(platforms & {"android", "ios"})
    assert ("flutter_secure_storage" in pubspec) == signs_in
    assert ("url_launcher" in pubspec) == (signs_in and "web" in platforms)
    assert ("flutter_web_auth_2" in pubspec) == (signs_in and native)

    client = (frontend / "lib/api/api_client.dart").read_text()
    assert "'Bearer $token'" in client
    assert ".timeout(timeout)" in client


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_backend_url_defaults_to_the_development_backend(rendered, name):
    frontend, answers = _frontend(rendered, name)
    config = (frontend / "lib" / "config.dart").read_text()
    assert "String.fromEnvironment(" in config and "'BACKEND_URL'" in config
    assert "'http://localhost:8000'" in config
    # The Android emulator reaches the computer it runs on as 10.0.2.2.
    android = "android" in answers["flutter_platforms"]
    assert ("'http://10.0.2.2:8000'" in config) == android
    native_sign_in = answers["oauth_providers"] and set(answers["flutter_platforms"]) - {"web"}
    assert (f"const appScheme = '{answers['app_scheme']}';" in config) == bool(native_sign_in)


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_platform_folders_follow_the_answers(rendered, name):
    """Only what `flutter create --empty` would not write itself: web/ for the web, and
    for Android the manifest and the network security config. iOS needs nothing (ATS
    exempts localhost, and the authentication session takes the callback itself)."""
    frontend, answers = _frontend(rendered, name)
    platforms = set(answers["flutter_platforms"])
    assert (frontend / "web").is_dir() == ("web" in platforms)
    assert not (frontend / "ios").exists()
    android = frontend / "android"
    assert android.is_dir() == ("android" in platforms)
    if android.is_dir():
        files = {p.relative_to(android).as_posix() for p in android.rglob("*") if p.is_file()}
        assert files == {
            "app/src/main/AndroidManifest.xml",
            "app/src/main/res/xml/network_security_config.xml",
        }


@pytest.mark.parametrize("name", [n for n in WITH_FRONTEND if n != "web-only"])
def test_android_manifest_lets_the_app_reach_its_backend_and_sign_in(rendered, name):
    frontend, answers = _frontend(rendered, name)
    main = frontend / "android/app/src/main"
    manifest = ET.parse(main / "AndroidManifest.xml").getroot()
    permissions = {e.get(f"{ANDROID}name") for e in manifest.iter("uses-permission")}
    assert "android.permission.INTERNET" in permissions
    (application,) = manifest.iter("application")
    assert application.get(f"{ANDROID}label") == answers["project_name"]
    assert application.get(f"{ANDROID}networkSecurityConfig") == "@xml/network_security_config"
    activities = {a.get(f"{ANDROID}name"): a for a in application.iter("activity")}
    callback = activities.pop("com.linusu.flutter_web_auth_2.CallbackActivity", None)
    assert set(activities) == {".MainActivity"}
    assert (callback is not None) == bool(answers["oauth_providers"])
    if callback is not None:
        (data,) = callback.iter("data")
        address = [data.get(f"{ANDROID}{part}") for part in ("scheme", "host", "path")]
        assert address == [answers["app_scheme"], "auth", "/callback"]

    security = ET.parse(main / "res/xml/network_security_config.xml").getroot()
    base = security.find("base-config")
    assert base is not None and base.get("cleartextTrafficPermitted") == "false"
    (cleartext,) = security.iter("domain-config")
    assert cleartext.get("cleartextTrafficPermitted") == "true"
    assert {d.text for d in cleartext.iter("domain")} == {"10.0.2.2", "localhost", "127.0.0.1"}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"flutter_platforms": []}, "flutter_platforms must name at least one platform"),
        ({"flutter_platforms": ["windows"]}, "windows"),
        ({"app_scheme": "myapp"}, "app_scheme must be a reverse domain name"),
        ({"app_scheme": "com.Example.app"}, "app_scheme must be a reverse domain name"),
        ({"app_scheme": "com.example.my-app"}, "app_scheme must be a reverse domain name"),
    ],
)
def test_bad_platform_answers_are_refused(template_dir, tmp_path, answers, message):
    dst = tmp_path / "project"
    with pytest.raises(ValueError) as refusal:
        copier.run_copy(
            str(template_dir), str(dst), data=answers, defaults=True, unsafe=False, quiet=True
        )
    assert message in str(refusal.value)
    assert not dst.exists()


@pytest.mark.parametrize("name", WITH_FRONTEND)
def test_readme_completes_native_projects_without_the_sample_test(rendered, name):
    """Without --empty, `flutter create` adds test/widget_test.dart, which tests a MyApp
    this app does not have: `flutter test` would fail on it."""
    project = rendered(name)
    readme = project.read("README.md")
    creates = re.findall(
        r"^\s*(?:run: )?(flutter create .*)$",
        readme + project.read(".github/workflows/ci.yml"),
        re.M,
    )
    phones = set(project.answers["flutter_platforms"]) - {"web"}
    assert bool(creates) == bool(phones)
    assert all("--empty" in command for command in creates)
    inline = re.findall(r"`(flutter create [^`]*)`", readme)
    assert all("--empty" in command for command in inline)
