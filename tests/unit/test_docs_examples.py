"""The command examples of README.md and docs/*.md against the real CLI and Makefile, so the docs cannot drift.

Every line of a code block that starts with `sre ` (and `sre ...` after `&&` or `;`) is read as the
reference shows it: `[...]` optional, `a|b` alternatives (`start|stop NAME`, `--format table|json`,
`build | lint | diff`), UPPERCASE words placeholders, two spaces or `#` start the description. Its
command path must exist, each option must be one that command's `--help` lists, each concrete option
value must parse (a choice, a number), and positional words need a command that takes them. Every
`make TARGET` in a code block or an inline `make ...` span must be a Makefile target.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from sre.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI = typer.main.get_command(app)
HELP = {"--help", "-h"}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*([:.][A-Z][A-Z0-9_]*)*$")  # FILE, HOST:PORT, N
FENCE = re.compile(r"^\s*(```|~~~)")
DESCRIPTION = re.compile(r"\s{2,}.*$|\s+#(\s.*)?$")
INLINE = re.compile(r"`((?:sre|make) [^`]+|sre)`")


@dataclass(frozen=True)
class Example:
    file: str
    line: int
    text: str  # one command: "sre probe --all --env sandbox" or "make demo"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


def code_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line inside a fenced code block."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside = not inside
        elif inside:
            yield number, line


def examples(path: Path, root: Path = ROOT) -> Iterator[Example]:
    name = str(path.relative_to(root))
    text = path.read_text(encoding="utf-8")
    lines = list(code_lines(text))
    for index, (number, line) in enumerate(lines):
        stripped = line.strip().removeprefix("$ ")
        if not stripped.startswith(("sre ", "make ")) and stripped != "sre":
            continue
        command = DESCRIPTION.sub("", stripped)
        # A reference entry may wrap: indented lines of more options continue it.
        last = number
        for next_number, follow in lines[index + 1 :]:
            if next_number != last + 1 or not re.match(r"\s+[\[-]", follow):
                break
            command += " " + DESCRIPTION.sub("", follow.strip())
            last = next_number
        for part in re.split(r"\s*(?:&&|;)\s*", command):
            if part.startswith(("sre", "make ")):
                yield Example(name, number, part)
    for number, line in enumerate(text.splitlines(), 1):
        for span in INLINE.findall(line.replace("\\|", "|")):  # `\|` is a pipe inside a table
            for part in re.split(r"\s*(?:&&|;)\s*", span):
                if part.startswith(("sre", "make ")):
                    yield Example(name, number, part)


def make_targets() -> set[str]:
    targets: set[str] = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_./$()-][^:=#\t]*):(?!=)", line)
        if found:
            targets.update(found.group(1).split())
    return targets


def check_make(example: Example, targets: set[str]) -> list[str]:
    names = [w for w in example.text.split()[1:] if "=" not in w and not w.startswith("-")]
    if not names:
        return [f"{example}: no target named"]
    return [f"{example}: no Makefile target {w!r}" for w in names if w not in targets]


def words(text: str) -> list[str]:
    tokens = [t.replace("[", "").replace("]", "") for t in shlex.split(text)]
    return [t.removesuffix("...") for t in tokens if t.removesuffix("...")]


def alternatives(command: str) -> list[list[str]]:
    """`sre dashboards build [--out DIR] | lint | diff` -> one token list per command it stands for."""
    first, *others = re.split(r"\s\|\s", command)
    head = words(first)
    out = [head]
    for other in others:
        tokens = words(other)
        if not tokens:
            continue
        parent = command_words(head)[:-1]
        if tokens[0].startswith("-"):
            out.append([*command_words(head), *tokens])
        elif tokens[0] not in subcommands(parent) and shutil.which(tokens[0]):
            break  # a pipe into another program, not a sibling subcommand
        else:
            out.append([*parent, *tokens])
    return out


def command_words(tokens: list[str]) -> list[str]:
    """The leading words of `tokens` that name commands: `sre dashboards build`."""
    out = []
    for token in tokens:
        if token.startswith("-") or (PLACEHOLDER.match(token) and token != "sre"):
            break
        out.append(token)
    return out


def subcommands(path: list[str]) -> set[str]:
    command: Any = CLI
    for word in path[1:]:
        command = getattr(command, "commands", {}).get(word)
    return set(getattr(command, "commands", {}))


def option_map(command: Any) -> dict[str, Any]:
    return {
        opt: p for p in command.params if p.param_type_name == "option" for opt in p.opts + p.secondary_opts
    }


def walk(tokens: list[str]) -> Iterator[tuple[list[str], Any, list[str]]]:
    """(command path, command or None, the tokens left for it) for each command `tokens` names."""
    command: Any = CLI
    path = ["sre"]
    rest = tokens[1:]
    while hasattr(command, "commands") and rest:
        word = rest[0]
        if word.startswith("-"):
            if word in HELP or word in option_map(command):
                rest = rest[1:]  # an option of the group itself: `sre --version`
                continue
        elif "|" in word:
            for choice in word.split("|"):
                yield from walk([*path, choice, *rest[1:]])
            return
        elif word in command.commands:
            command, path, rest = command.commands[word], [*path, word], rest[1:]
            continue
        default = getattr(command, "default_command", None)
        if default is None:
            yield path, None, rest
            return
        command, path = command.commands[default], [*path, default]
    yield path, command, rest


def parse_problem(command: Any, argv: list[str], option: Any) -> str | None:
    """What the real parser says about `argv` (one option and its value), if it refuses it."""
    from typer._click.exceptions import BadParameter

    try:
        command.make_context(command.name, list(argv))
    except BadParameter as exc:
        if exc.param is option:
            return exc.format_message()
    except Exception:  # a missing required argument, for instance: not about this option
        return None
    return None


def check_command(path: list[str], command: Any, rest: list[str]) -> list[str]:
    where = " ".join(path)
    if command is None:
        return [f"no command {where} {rest[0]!r}" if rest else f"{where} needs a subcommand"]
    options = option_map(command)
    problems: list[str] = []
    positionals = 0
    index = 0
    while index < len(rest):
        token = rest[index]
        index += 1
        if not token.startswith("-") or token == "-":
            positionals += 1
            continue
        name, _, value = token.partition("=")
        if name in HELP:
            continue
        option = options.get(name)
        if option is None:
            problems.append(f"{where} has no option {name} (see `{where} --help`)")
            continue
        if option.is_flag:
            continue
        if not value and index < len(rest) and not rest[index].startswith("-"):
            value, index = rest[index], index + 1
        if not value:
            problems.append(f"{where} {name} takes a value; none shown")
            continue
        for choice in value.split("|"):
            if PLACEHOLDER.match(choice) or "$" in choice:
                continue
            said = parse_problem(command, [name, choice], option)
            if said:
                problems.append(f"{where} {name} {choice}: {said}")
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    most = float("inf") if any(a.nargs < 0 for a in arguments) else sum(a.nargs for a in arguments)
    if positionals > most:
        problems.append(f"{where} takes {most} positional argument(s); {positionals} shown")
    return problems


def check_sre(example: Example) -> list[str]:
    try:
        commands = alternatives(example.text)
    except ValueError as exc:  # shlex: an unclosed quote
        return [f"{example}: cannot split: {exc}"]
    problems = []
    for tokens in commands:
        for path, command, rest in walk(tokens):
            problems += [f"{example}: {p}" for p in check_command(path, command, rest)]
    return problems


def check(example: Example, targets: set[str]) -> list[str]:
    return check_make(example, targets) if example.text.startswith("make ") else check_sre(example)


def every_example() -> list[Example]:
    return [e for path in DOCS for e in examples(path)]


def test_every_documented_command_and_make_target_exists() -> None:
    found = every_example()
    # The README's reference alone has about twenty: finding few means the extraction broke.
    assert sum(e.text.startswith("sre") for e in found) > 30, found
    assert sum(e.text.startswith("make ") for e in found) > 10, found
    targets = make_targets()
    problems = [p for e in found for p in check(e, targets)]
    assert not problems, "\n".join(problems)


def all_options(command: Any) -> set[str]:
    found = {opt for p in command.params for opt in p.opts + p.secondary_opts}
    for sub in getattr(command, "commands", {}).values():
        found |= all_options(sub)
    return found


def test_every_option_named_in_prose_exists() -> None:
    known = all_options(CLI) | HELP
    problems = [
        f"{path.relative_to(ROOT)}:{number}: `{span}`: no sre command has {span.split()[0].split('=')[0]}"
        for path in DOCS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for span in re.findall(r"`(--[a-z][^`]*)`", line)
        if span.split()[0].split("=")[0] not in known
    ]
    assert not problems, "\n".join(problems)


def test_every_documented_command_path_answers_help() -> None:
    paths = {
        tuple(path)
        for e in every_example()
        if e.text.startswith("sre")
        for tokens in alternatives(e.text)
        for path, command, _ in walk(tokens)
        if command is not None
    }
    assert len(paths) > 15, paths
    runner = CliRunner()
    for path in sorted(paths):
        done = runner.invoke(app, [*path[1:], "--help"])
        assert done.exit_code == 0, (path, done.output)
        assert "Usage:" in done.output, (path, done.output)


BAD_DOC = """
```sh
sre probe --all --env sandbox --formatt json          # a misspelled option
sre probe --all --format xml                          # a value it refuses
sre sandbox up --profile core|huge                    # one alternative it refuses
sre sandbox restart NAME                              # no such command
sre sandbox start|stopp NAME
sre probe merge FILE... --platform FILE               # merge reads no platform
sre inventory validate A B                            # one file at most
sre probe --concurrency many
sre dashboards build [--out DIR] | lint | lnit
sre elk build | diff | publish --nope
make demo  test
make demoo
```
Prose with `make tset` inline, and `sre sandbox up --profile full && sre probe --all --tire primary`.
"""


def test_the_checker_finds_each_kind_of_drift(tmp_path: Path) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text(BAD_DOC)
    problems = [p for e in examples(doc, tmp_path) for p in check(e, make_targets())]
    text = "\n".join(problems)
    for expected in (
        "bad.md:3: sre probe --all --env sandbox --formatt json: sre probe run has no option --formatt",
        "sre probe run --format xml: ",
        "sre sandbox up --profile huge: ",
        "no command sre sandbox 'restart'",
        "no command sre sandbox 'stopp'",
        "sre probe merge has no option --platform",
        "sre inventory validate takes 1 positional argument(s); 2 shown",
        "sre probe run --concurrency many: ",
        "no command sre dashboards 'lnit'",
        "sre elk publish has no option --nope",
        "no Makefile target 'demoo'",
        "no Makefile target 'tset'",
        "sre probe run has no option --tire",
    ):
        assert expected in text, (expected, text)
    assert len(problems) == 13, text
