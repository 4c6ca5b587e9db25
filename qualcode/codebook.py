"""The codebook file: load it, check it, write it.

A codebook is a team's shared, versioned YAML file (``codebook/codebook.yaml``) that people edit
by hand, so the checker reports *every* problem at once with the line it is on, instead of
stopping at the first. It reads the composed YAML node tree rather than the loaded Python
objects because only nodes keep their line numbers. Scalars are read as their source text, so
``version: 1.10`` stays ``"1.10"`` and a keyword ``no`` stays ``"no"`` (not ``False``).

The writer emits the same format in the documented key order, so a codebook imported from
another tool (REFI-QDA) becomes a file people can keep editing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .coded import RESERVED_COLUMNS
from .domain import Code, Codebook, Pattern
from .errors import QualcodeError
from .fsutil import write_text

TOP_KEYS = ("name", "version", "description", "unit", "threshold", "codes")
CODE_KEYS = ("id", "name", "parent", "definition", "include", "exclude", "keywords", "patterns",
             "examples", "counter_examples", "color", "threshold")
PATTERN_KEYS = ("regex", "tokens")
# A group whose body repeats without bound (+, *, {n,}) and that is itself repeated without bound: the shape of catastrophic
# backtracking ("(a+)+$", "(\\w+\\s?)*"). Matching also runs under a time limit (code/rules.py),
# so a pattern this check misses still cannot hang a run.
NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\})\)(?:[+*]|\{\d+,\})")
UNITS = ("turn", "sentence", "paragraph")
DEFAULT_UNIT = "turn"
DEFAULT_THRESHOLD = 0.5
ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
# One item of spaCy's token-pattern validation report, e.g. "- [pattern -> 1 -> LOWER] why".
_SPACY_DETAIL_RE = re.compile(r"- \[pattern -> (?P<token>\d+)(?: -> (?P<where>[^\]]*))?\] (?P<why>.*)")
# Colour-blind-friendly qualitative palette (Okabe-Ito, then Tol's muted), cycled in code order.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
           "#882255", "#AA4499")

ERROR = "error"
WARNING = "warning"
_NULL_TAG = "tag:yaml.org,2002:null"
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


@dataclass(frozen=True)
class Problem:
    """One finding; ``line`` is 1-based, 0 when it concerns the whole file (e.g. it is missing)."""

    line: int
    severity: str
    message: str

    def format(self, path: str | Path) -> str:
        """The compiler-style ``FILE:LINE: error: message`` that editors can jump to."""
        where = f"{path}:{self.line}" if self.line else str(path)
        return f"{where}: {self.severity}: {self.message}"


@dataclass
class CheckReport:
    """Every problem of one codebook file, and the codebook itself when there is no error."""

    path: Path
    problems: list[Problem]
    codebook: Codebook | None

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == WARNING]

    def summary(self) -> str:
        return f"{self.path}: {_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')}"


def check_codebook(path: str | Path) -> CheckReport:
    """Read and check a codebook file, collecting every problem instead of stopping at one."""
    path = Path(path)
    checker = _Checker()
    root = _compose(path, checker)
    codebook = None if root is None else checker.codebook(root, default_name=path.stem)
    problems = sorted(checker.problems, key=lambda problem: problem.line)
    if any(problem.severity == ERROR for problem in problems):
        codebook = None
    elif codebook is not None:
        codebook = replace(codebook, path=path)
    return CheckReport(path, problems, codebook)


def load_codebook(path: str | Path) -> Codebook:
    """Load a codebook, or raise the first error with a pointer to ``qualcode codebook check``.

    Warnings are ignored here: they are advice for the people editing the file, and the
    ``check`` command shows them.
    """
    report = check_codebook(path)
    if report.codebook is None:
        first = report.errors[0]
        hint = f"({_plural(len(report.errors), 'problem')}; run `qualcode codebook check {path}`)"
        raise QualcodeError(f"{first.message} {hint}", path, first.line or None)
    return report.codebook


def default_color(index: int) -> str:
    """The colour of the ``index``-th code when it sets none: distinct for the first 16 codes."""
    return PALETTE[index % len(PALETTE)]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- reading -------------------------------------------------------------------------------


def _compose(path: Path, checker: _Checker) -> Node | None:
    """Read ``path`` into a YAML node tree, or record why it cannot be read and return None."""
    text = _read_text(path, checker)
    if text is None:
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        checker.error(*_syntax_error(error, last_line=max(1, len(text.splitlines()))))
        return None
    except yaml.reader.ReaderError as error:
        checker.error(text.count("\n", 0, error.position) + 1, f"YAML syntax error: {error.reason}")
        return None
    if root is None:
        checker.error(1, "the file is empty")
    return root


def _read_text(path: Path, checker: _Checker) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        checker.error(0, "file not found")
        return None
    except OSError as error:
        checker.error(0, f"cannot read the file ({error.strerror})")
        return None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        checker.error(line, f"not UTF-8 text (byte 0x{data[error.start]:02X}); save the file as UTF-8")
        return None


def _syntax_error(error: yaml.MarkedYAMLError, last_line: int) -> tuple[int, str]:
    """The line the parser stopped on (the last one at end of file), and where the unfinished
    construct began when that is elsewhere: an unclosed quote is found only at the end."""
    problem, context = error.problem_mark, error.context_mark
    mark = problem or context
    detail = error.problem
    if error.context:
        elsewhere = context is not None and problem is not None and context.line != problem.line
        began = f" that starts on line {context.line + 1}" if elsewhere else ""
        detail += f" ({error.context}{began})"
    return (min(mark.line + 1, last_line) if mark else 1), f"YAML syntax error: {detail}"


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _kind(node: Node) -> str:
    """How a node reads to a person, for 'must be X; got Y' messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "empty" if node.tag == _NULL_TAG else f"'{node.value}'"


def _is_null(node: Node | None) -> bool:
    return node is None or (isinstance(node, ScalarNode) and node.tag == _NULL_TAG)


def _normalise_keyword(keyword: str) -> str:
    return " ".join(keyword.casefold().split())


def _spacy_problems(error: Exception) -> dict[int | None, str]:
    """spaCy's multi-line validation report as one reason per token (0-based; None: no token)."""
    reasons: dict[int | None, list[str]] = {}
    for line in str(error).splitlines():
        if match := _SPACY_DETAIL_RE.fullmatch(line.strip()):
            where = f"{match['where']}: " if match["where"] else ""
            reasons.setdefault(int(match["token"]), []).append(where + match["why"])
    if not reasons:
        return {None: str(error).splitlines()[0]}
    return {token: f"token {token + 1}: {'; '.join(why)}" for token, why in reasons.items()}


@dataclass
class _Fields:
    """The key and value nodes of one YAML mapping, with the line of the mapping itself."""

    line: int
    keys: dict[str, Node] = field(default_factory=dict)
    values: dict[str, Node] = field(default_factory=dict)

    def get(self, key: str) -> Node | None:
        """The value node of ``key``; None when the key is absent or left empty (null)."""
        value = self.values.get(key)
        return None if _is_null(value) else value


class _Checker:
    """Walks the node tree once, recording problems and building the codebook as it goes.

    Cross-code checks (duplicate ids, shared keywords) run as codes are met; checks that need
    every code first (unknown parents, cycles, codes with nothing to match) run at the end.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._id_lines: dict[str, int] = {}
        self._parent_refs: dict[str, tuple[str, int]] = {}
        self._keyword_owners: dict[str, tuple[str, int]] = {}
        self._token_patterns: list[tuple[SequenceNode, list, str]] = []

    def error(self, where: Node | int, message: str) -> None:
        self._add(where, ERROR, message)

    def warn(self, where: Node | int, message: str) -> None:
        self._add(where, WARNING, message)

    def _add(self, where: Node | int, severity: str, message: str) -> None:
        self.problems.append(Problem(where if isinstance(where, int) else _line(where), severity, message))

    # generic shapes

    def fields(self, node: Node, allowed: tuple[str, ...], what: str) -> _Fields | None:
        """Check that ``node`` is a mapping with only ``allowed`` keys, each once."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping with the keys {', '.join(allowed)}; got {_kind(node)}")
            return None
        found = _Fields(_line(node))
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else None
            if name not in allowed:
                self.error(key, f"unknown key '{name}' in {what} (allowed: {', '.join(allowed)})")
            elif name in found.keys:
                self.error(key, f"duplicate key '{name}' in {what} (first on line {_line(found.keys[name])})")
            else:
                found.keys[name], found.values[name] = key, value
        return found

    def text(self, node: Node | None, what: str) -> str | None:
        """A scalar's source text; None (after an error) for a list or mapping."""
        if node is None or isinstance(node, ScalarNode):
            return None if _is_null(node) else node.value
        self.error(node, f"{what} must be text; got {_kind(node)}")
        return None

    def texts(self, node: Node | None, what: str, single: bool = False) -> tuple[str, ...]:
        """A list of non-empty texts; with ``single``, one bare text also counts as a list."""
        if node is None:
            return ()
        if single and isinstance(node, ScalarNode):
            items = [node]
        elif isinstance(node, SequenceNode):
            items = node.value
        else:
            self.error(node, f"{what} must be a list of texts{' or one text' if single else ''}; got {_kind(node)}")
            return ()
        found = []
        for number, item in enumerate(items, start=1):
            value = self.text(item, f"item {number} of {what}")
            if value is not None and value.strip():
                found.append(value)
            elif isinstance(item, ScalarNode):
                self.error(item, f"item {number} of {what} is empty")
        return tuple(found)

    def fraction(self, node: Node | None, what: str) -> float | None:
        """A number from 0 to 1 (a threshold)."""
        if node is None:
            return None
        if not (isinstance(node, ScalarNode) and node.tag in _NUMBER_TAGS):
            self.error(node, f"{what} must be a number from 0 to 1; got {_kind(node)}")
            return None
        value = float(self._constructor.construct_object(node))
        if not 0.0 <= value <= 1.0:
            self.error(node, f"{what} must be from 0 to 1; got {node.value}")
            return None
        return value

    # the codebook

    def codebook(self, root: Node, default_name: str) -> Codebook | None:
        top = self.fields(root, TOP_KEYS, "the codebook")
        if top is None:
            return None
        unit = self.text(top.get("unit"), "unit") or DEFAULT_UNIT
        if unit not in UNITS:
            self.error(top.get("unit"), f"unit '{unit}' is not one of {', '.join(UNITS)}")
        threshold = self.fraction(top.get("threshold"), "threshold")
        codes = self.codes(top)
        return Codebook(
            name=self.text(top.get("name"), "name") or default_name,
            version=self.text(top.get("version"), "version") or "",
            description=self.text(top.get("description"), "description") or "",
            unit=unit,
            codes=codes,
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        )

    def codes(self, top: _Fields) -> tuple[Code, ...]:
        node = top.get("codes")
        if node is None:
            where = top.keys.get("codes", top.line)
            self.error(where, "the codebook has no codes: add a `codes:` list")
            return ()
        if not isinstance(node, SequenceNode):
            self.error(node, f"codes must be a list of codes; got {_kind(node)}")
            return ()
        if not node.value:
            self.error(node, "the codes list is empty")
        codes = tuple(code for index, item in enumerate(node.value)
                      if (code := self.code(item, index)) is not None)
        self.check_hierarchy(codes)
        self.check_matchable(codes)
        self.check_token_patterns()
        return codes

    def code(self, node: Node, index: int) -> Code | None:
        """One code; it is returned even when some field is wrong, so later checks still see it."""
        found = self.fields(node, CODE_KEYS, f"code {index + 1}")
        if found is None:
            return None
        code_id = self.code_id(found, index)
        if code_id is None:
            return None
        parent_node = found.get("parent")
        parent = self.text(parent_node, f"parent of '{code_id}'")
        if parent is not None:
            self._parent_refs.setdefault(code_id, (parent, _line(parent_node)))
        keywords = self.texts(found.get("keywords"), f"keywords of '{code_id}'")
        self.check_shared_keywords(code_id, keywords, found.get("keywords"))
        threshold = self.fraction(found.get("threshold"), f"threshold of '{code_id}'")
        return Code(
            id=code_id,
            name=self.text(found.get("name"), f"name of '{code_id}'") or code_id,
            definition=self.definition(found, code_id),
            parent=parent,
            include=self.texts(found.get("include"), f"include of '{code_id}'", single=True),
            exclude=self.texts(found.get("exclude"), f"exclude of '{code_id}'", single=True),
            keywords=keywords,
            patterns=self.patterns(found.get("patterns"), code_id),
            examples=self.texts(found.get("examples"), f"examples of '{code_id}'"),
            counter_examples=self.texts(found.get("counter_examples"), f"counter_examples of '{code_id}'"),
            color=self.color(found, code_id, index),
            threshold=threshold,
            line=found.line,
        )

    def code_id(self, found: _Fields, index: int) -> str | None:
        """The code's id after the slug, reserved-name and uniqueness checks; None if unusable."""
        node = found.get("id")
        code_id = self.text(node, f"id of code {index + 1}")
        if code_id is None:
            if node is None:
                self.error(found.line, f"code {index + 1} has no id")
            return None
        if not ID_RE.fullmatch(code_id):
            self.error(node, f"id '{code_id}' is malformed: use lowercase letters, digits, '_' and '-', "
                             "starting with a letter or digit")
        elif code_id in RESERVED_COLUMNS:
            self.error(node, f"id '{code_id}' collides with the output column '{code_id}' of the coded "
                             "table; rename the code")
        if code_id in self._id_lines:
            self.error(node, f"duplicate id '{code_id}' (first on line {self._id_lines[code_id]})")
        else:
            self._id_lines[code_id] = _line(node)
        return code_id

    def definition(self, found: _Fields, code_id: str) -> str:
        node = found.get("definition")
        definition = self.text(node, f"definition of '{code_id}'")
        if node is None:
            self.error(found.keys.get("definition", found.line), f"code '{code_id}' has no definition")
        elif definition is not None and not definition.strip():
            self.error(node, f"the definition of '{code_id}' is empty")
        return definition or ""

    def color(self, found: _Fields, code_id: str, index: int) -> str:
        """The code's colour; an empty value gets a hint, as an unquoted ``#`` starts a comment."""
        if "color" not in found.values:
            return default_color(index)
        node = found.values["color"]
        if _is_null(node):
            self.error(found.keys["color"], f"color of '{code_id}' is empty; quote it, as in "
                                            "color: \"#1F77B4\" (an unquoted # starts a YAML comment)")
            return default_color(index)
        color = self.text(node, f"color of '{code_id}'")
        if color is not None and not COLOR_RE.fullmatch(color):
            self.error(node, f"color '{color}' of '{code_id}' is not of the form #RRGGBB")
        return color or default_color(index)

    def patterns(self, node: Node | None, code_id: str) -> tuple[Pattern, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode):
            self.error(node, f"patterns of '{code_id}' must be a list; got {_kind(node)}")
            return ()
        return tuple(pattern for number, item in enumerate(node.value, start=1)
                     if (pattern := self.pattern(item, f"pattern {number} of '{code_id}'")) is not None)

    def pattern(self, node: Node, what: str) -> Pattern | None:
        """``{regex: ...}``, ``{tokens: [...]}`` or a bare regex string."""
        if isinstance(node, ScalarNode):
            return self.regex(node, what)
        found = self.fields(node, PATTERN_KEYS, what)
        if found is None:
            return None
        if (found.get("regex") is None) == (found.get("tokens") is None):
            self.error(found.line, f"{what} needs exactly one of regex or tokens")
            return None
        if found.get("regex") is not None:
            return self.regex(found.get("regex"), what)
        return self.tokens(found.get("tokens"), what)

    def regex(self, node: Node, what: str) -> Pattern | None:
        regex = self.text(node, what)
        if not regex:
            if regex is not None:
                self.error(node, f"{what} is an empty regex")
            return None
        try:
            re.compile(regex)
        except re.error as error:
            self.error(node, f"{what}: regex '{regex}' does not compile: {error}")
            return None
        if NESTED_QUANTIFIER.search(regex):
            self.error(node, f"{what}: regex '{regex}' repeats a group that itself repeats (as in '(a+)+'), "
                             "which can take forever on some text; rewrite it without the nested repeat")
            return None
        return Pattern(regex=regex)

    def tokens(self, node: Node, what: str) -> Pattern | None:
        """A spaCy token pattern; spaCy itself validates it later, in :meth:`check_token_patterns`."""
        try:
            tokens = self._constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            self.error(node, f"{what}: {error.problem}")
            return None
        if not (isinstance(tokens, list) and tokens and all(isinstance(token, dict) for token in tokens)):
            self.error(node, f"{what}: tokens must be a non-empty list of token mappings, "
                             "as in [{LOWER: worried}]")
            return None
        self._token_patterns.append((node, tokens, what))
        return Pattern(tokens=tuple(tokens))

    # checks across codes

    def check_shared_keywords(self, code_id: str, keywords: Iterable[str], node: Node | None) -> None:
        """Warn when two codes share a keyword: a match on it cannot tell them apart."""
        items = node.value if isinstance(node, SequenceNode) else ()
        lines = {item.value: _line(item) for item in items if isinstance(item, ScalarNode)}
        for keyword in keywords:
            key = _normalise_keyword(keyword)
            owner, owner_line = self._keyword_owners.setdefault(key, (code_id, lines[keyword]))
            if owner != code_id:
                self.warn(lines[keyword], f"keyword '{keyword}' is shared by '{owner}' (line {owner_line}) "
                                          f"and '{code_id}'")

    def check_hierarchy(self, codes: tuple[Code, ...]) -> None:
        """Parents must exist and must not loop, or ``Codebook.descendants`` would never end."""
        known = {code.id for code in codes}
        parents = {}
        for code_id, (parent, line) in self._parent_refs.items():
            if parent in known:
                parents[code_id] = parent
            else:
                self.error(line, f"parent '{parent}' of '{code_id}' is not a code id")
        reported: set[frozenset[str]] = set()
        for code_id in parents:
            cycle = _cycle_from(code_id, parents)
            if cycle and frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                first = min(cycle, key=lambda member: self._parent_refs[member][1])
                self.error(self._parent_refs[first][1], f"parent cycle: {' -> '.join(_rotate(cycle, first))}")

    def check_matchable(self, codes: tuple[Code, ...]) -> None:
        """Warn about leaf codes with no keywords, patterns or examples: only prose describes them."""
        parents = {code.parent for code in codes}
        for code in codes:
            if not (code.keywords or code.patterns or code.examples or code.id in parents):
                self.warn(code.line, f"code '{code.id}' has neither keywords nor examples, so only its "
                                     "definition can match it")

    def check_token_patterns(self) -> None:
        """Let spaCy's own validator judge token patterns; spaCy is imported only if there are any."""
        if not self._token_patterns:
            return
        from spacy.matcher import Matcher
        from spacy.vocab import Vocab

        matcher = Matcher(Vocab(), validate=True)
        for node, tokens, what in self._token_patterns:
            try:
                matcher.add("check", [tokens])
            except (ValueError, re.error) as error:
                for token, reason in _spacy_problems(error).items():
                    where = node if token is None else node.value[token]
                    self.error(where, f"{what}: spaCy rejects the token pattern: {reason}")


def _cycle_from(start: str, parents: dict[str, str]) -> list[str]:
    """The cycle reached by following parents from ``start`` (empty if none)."""
    path: list[str] = []
    node: str | None = start
    while node is not None and node not in path:
        path.append(node)
        node = parents.get(node)
    return [] if node is None else path[path.index(node):]


def _rotate(cycle: list[str], first: str) -> list[str]:
    """``cycle`` starting at ``first`` and closed again at ``first``, for a readable message."""
    start = cycle.index(first)
    ordered = cycle[start:] + cycle[:start]
    return [*ordered, first]


# --- writing -------------------------------------------------------------------------------


_FOLD_AT = 80


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key and writes long text as ``|`` or ``>`` blocks, as people do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text keeps its lines (``|``); long prose is folded (``>``) instead of quoted.

    The emitter falls back to quoting by itself when a block style cannot hold the text exactly.
    """
    style = "|" if "\n" in value else ">" if len(value) > _FOLD_AT else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_codebook(codebook: Codebook) -> str:
    """The codebook as YAML in the documented key order, without empty optional fields."""
    data = {
        "name": codebook.name,
        "version": codebook.version,
        "description": codebook.description,
        "unit": codebook.unit,
        "threshold": codebook.threshold,
        "codes": [_code_data(code, index) for index, code in enumerate(codebook.codes)],
    }
    data = {key: value for key, value in data.items() if value != ""}
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=88)


def write_codebook(codebook: Codebook, path: str | Path) -> None:
    """Write the codebook atomically, so a shared file is never left half-written."""
    write_text(Path(path), dump_codebook(codebook))


def _code_data(code: Code, index: int) -> dict:
    """One code as a mapping; fields equal to their default are left out to keep the file short."""
    data = {
        "id": code.id,
        "name": code.name if code.name != code.id else None,
        "parent": code.parent,
        "definition": code.definition,
        "include": list(code.include),
        "exclude": list(code.exclude),
        "keywords": list(code.keywords),
        "patterns": [_pattern_data(pattern) for pattern in code.patterns],
        "examples": list(code.examples),
        "counter_examples": list(code.counter_examples),
        "color": code.color if code.color != default_color(index) else None,
        "threshold": code.threshold,
    }
    return {key: value for key, value in data.items() if value not in (None, [])}


def _pattern_data(pattern: Pattern) -> dict:
    if pattern.regex is not None:
        return {"regex": pattern.regex}
    return {"tokens": [dict(token) for token in pattern.tokens or ()]}
