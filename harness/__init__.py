"""What the template's tests and benchmarks share: rendering the template, the named
answer sets, a generated backend's virtualenv and environment, and the server harness
that runs it the way a platform does. Installed by the repository's pyproject.toml
(`pip install -e '.[test]'`), so tests/ and bench/ import it like any package."""
