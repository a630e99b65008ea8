"""Fuzz the platform and probe-definition loaders: any input is a model or an InputError.

Random YAML, random structures, and random mutations of the real platform.yaml and probes/ files
(by value and by text). Whatever comes in, the loader returns a model or raises InputError whose
every line names the file (`FILE:LINE: field: problem`, each line complete on its own) and stays
short; nothing else escapes (no RecursionError, KeyError, TypeError, ValueError...).

A short run is part of every test run; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs many more.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sre.errors import InputError
from sre.platform.loader import load_environment, load_platform
from sre.platform.model import Platform
from sre.probes.definitions import Definitions, load_definitions
from sre.yamlfile import MAX_PROBLEMS

ROOT = Path(__file__).resolve().parents[2]
SEED_TEXT = (ROOT / "platform.yaml").read_text(encoding="utf-8")
SEED = yaml.safe_load(SEED_TEXT)
PROBE_FILES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "probes").glob("*.yaml"))}
PLATFORM = load_platform(ROOT / "platform.yaml")

# No deadline: the shared machine is slow at times. max_examples comes from the profile.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# A longest line: the message of one problem, with its file path (a temporary folder) and field.
MAX_LINE = 600


@contextmanager
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sre-fuzz-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def assert_clean_error(error: InputError, source: Path) -> None:
    lines = str(error).splitlines()
    assert lines, "an empty message"
    assert len(lines) <= MAX_PROBLEMS + 1
    for line in lines:
        assert line.startswith(str(source.parent)), line
        assert len(line) <= MAX_LINE, line[:200]
        assert "Traceback" not in line


def load_platform_text(text: str | bytes) -> Platform | None:
    """The model, or None after checking the error is one of ours and well formed."""
    with folder() as where:
        path = where / "platform.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            platform = load_platform(path)
        except InputError as exc:
            assert_clean_error(exc, path)
            return None
        # A model that loads also serves every command that reads it: its environments resolve.
        for name in platform.environments:
            try:
                load_environment(platform, name)
            except InputError as exc:
                assert_clean_error(exc, path)
        return platform


def load_probe_texts(files: dict[str, str]) -> Definitions | None:
    with folder() as where:
        probes = where / "probes"
        probes.mkdir()
        for name, text in files.items():
            (probes / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return load_definitions(probes, PLATFORM)
        except InputError as exc:
            assert_clean_error(exc, probes / "x")
            return None


# --- strategies ------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", "*", "~", "yes", "1.3", "99999", "https://x:99999", "a" * 300, "-1", "0x1F"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Keys the model knows, so mutations reach deep validation rather than stopping at "unknown field".
KNOWN_KEYS = sorted(
    {
        "version", "platform", "name", "description", "policies", "tls", "min_version", "pii",
        "encryption_at_rest", "log_retention_days", "tiers", "dc", "standby", "provider", "region",
        "zones", "teams", "contact", "services", "zone", "kind", "owner", "stateful", "user_facing",
        "slo", "availability", "latency", "threshold_ms", "percentile", "window_days", "role",
        "max_lag_seconds", "max_backup_age_hours", "externals", "edges", "from", "to", "label", "both",
        "environments", "endpoints", "file", "url", "ca_file", "server_name", "params", "secrets",
        "env", "unavailable", "primary", "secondary", "tertiary", "kinds", "conditions", "checks",
        "check", "timeout", "settings", "policy", "exporter", "allow",
    }
)  # fmt: skip
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12)


def paths_of(
    data: Any, prefix: tuple[Any, ...] = (), inside: frozenset[int] = frozenset()
) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if id(data) in inside:
        return  # a "copy" made a loop: it is dumped as a self-referencing alias
    inside = inside | {id(data)}
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths_of(value, (*prefix, key), inside)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from paths_of(value, (*prefix, i), inside)


def mutate(data: Any, draw: st.DrawFn) -> Any:
    """One random edit of a plain YAML structure: replace, delete, add or rename at some path."""
    every = list(paths_of(data))
    where = draw(st.sampled_from(every[1:] if len(every) > 1 else every))
    if not where:
        return draw(values)
    parent = data
    for part in where[:-1]:
        parent = parent[part]
    last = where[-1]
    action = draw(st.sampled_from(["replace", "delete", "add", "rename", "copy"]))
    if action == "replace":
        parent[last] = draw(values)
    elif action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(keys)] = draw(values)
    elif action == "add" and isinstance(parent, list):
        parent.append(draw(values))
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(keys)] = parent.pop(last)
    elif action == "copy" and isinstance(parent, dict):
        other = draw(st.sampled_from(every))
        value: Any = data
        for part in other:
            value = value[part]
        parent[last] = value  # shared structure: YAML aliases once dumped
    return data


@st.composite
def mutated_platform(draw: st.DrawFn) -> str:
    data = yaml.safe_load(SEED_TEXT)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        data = mutate(data, draw)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def mutated_text(draw: st.DrawFn, seed: str) -> str:
    """Edits of the text itself: a cut, an insertion, a duplicated or swapped stretch."""
    text = seed
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        span = draw(st.integers(min_value=0, max_value=80))
        action = draw(st.sampled_from(["cut", "insert", "duplicate", "indent"]))
        if action == "cut":
            text = text[:at] + text[at + span :]
        elif action == "insert":
            piece = draw(
                st.text(max_size=20)
                | st.sampled_from(
                    [
                        "&a ",
                        "*a",
                        "<<: *a\n",
                        ": ",
                        "- ",
                        "{",
                        "[",
                        "'",
                        '"',
                        "\t",
                        "\n  ",
                        "!!python/object ",
                    ]
                )
            )
            text = text[:at] + piece + text[at:]
        elif action == "duplicate":
            text = text[:at] + text[at : at + span] + text[at:]
        else:
            text = text[:at] + "  " + text[at:]
    return text


YAML_TOKENS = [
    "version: 1\n", "platform:\n", "  name: x\n", "tiers: ", "services:\n", "- ", ": ", "&a ", "*a ",
    "<<: *a\n", "[", "]", "{", "}", ",", "\n", "  ", "'", '"', "!!str ", "!!binary ", "? ", "|\n", ">-\n",
    "---\n", "...\n", "%YAML 1.1\n", "#", "\t", "\x00", "\ufeff", "null", "~", "99999", "1e400",
]  # fmt: skip
yamlish = st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=8), max_size=40).map("".join)


# --- properties ------------------------------------------------------------------------------------


@FUZZ
@given(text=yamlish)
def test_random_yaml_as_platform_file(text: str) -> None:
    load_platform_text(text)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_as_platform_file(data: bytes) -> None:
    load_platform_text(data)


@FUZZ
@given(data=values)
def test_random_structures_as_platform_file(data: Any) -> None:
    load_platform_text(yaml.safe_dump(data, allow_unicode=True))


@FUZZ
@given(text=mutated_platform())
def test_mutations_of_the_real_platform_file(text: str) -> None:
    load_platform_text(text)


@FUZZ
@given(text=mutated_text(SEED_TEXT))
def test_text_edits_of_the_real_platform_file(text: str) -> None:
    load_platform_text(text)


@st.composite
def mutated_probe_files(draw: st.DrawFn) -> dict[str, str]:
    files = dict(PROBE_FILES)
    name = draw(st.sampled_from(sorted(files)))
    if draw(st.booleans()):
        data = yaml.safe_load(files[name])
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            data = mutate(data, draw)
        files[name] = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    else:
        files[name] = draw(mutated_text(files[name]))
    return files


@FUZZ
@given(files=mutated_probe_files())
def test_mutations_of_the_real_probe_definitions(files: dict[str, str]) -> None:
    load_probe_texts(files)


@FUZZ
@given(text=yamlish)
def test_random_yaml_as_probe_definitions(text: str) -> None:
    load_probe_texts({"probes.yaml": text})


def test_the_real_files_load() -> None:
    # The properties above are only as good as their seeds: the seeds themselves must load.
    assert load_platform_text(SEED_TEXT) is not None
    assert load_probe_texts(PROBE_FILES) is not None
