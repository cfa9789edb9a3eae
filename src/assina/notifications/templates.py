"""Rendering templates in a sandbox: Jinja2's `SandboxedEnvironment`, narrowed further.

A template is checked when it is saved (and compiled once per process, cached): a syntax
error, a name or field that is not a documented variable of its kind, a feature left out, or
a failure while rendering the sample data is a `TemplateFailure` naming the part (`subject`,
`html`, `text`). What is left out, so that no template can read what it should not or make
the process build gigabytes:

- attributes that are not data (methods other than a few harmless ones, `str.format`, dunder
  names), `range`, `lipsum` and every other global; filters outside `FILTERS`;
- `set`, macros, call blocks, includes, imports, `extends`, blocks, `autoescape` overrides;
- a loop inside a loop, recursive loops, and loops over anything but the variables (a data
  list such as `charge.lines`);
- `*` building more than 1,000 items, big powers and products, `%` on strings; `replace` and
  `join` that would build more than `MAX_OUTPUT` in one call;
- and, all together, more than the render budget of budget.py allows one rendering of a part
  (output, characters built, loop iterations, time), counted in the hooks below: every
  filter, method, operator, `~`, loop iteration and printed value.

HTML is autoescaped; the subject and the text body are not. The subject is put on one line,
and blank-line runs in the text body are collapsed. `None` prints as an empty string, and an
undefined name fails (StrictUndefined) instead of printing nothing.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.lexer import Token, TokenStream
from jinja2.meta import find_undeclared_variables
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from assina.notifications.budget import (
    LIMITS,
    BudgetExceeded,
    Limits,
    Pace,
    current,
    spending,
)
from assina.notifications.models import EmailKind
from assina.notifications.variables import allowed_names

MAX_SUBJECT_SOURCE = 1_000
MAX_BODY_SOURCE = 100_000
MAX_SUBJECT = 500
MAX_OUTPUT = LIMITS.output
MAX_REPEAT = 1_000
MAX_POWER_BITS = 4_096
MAX_NODES = 1_000  # per part: the richest default has 75
MAX_TOKENS = 5_000  # per part, counted while parsing: the richest default has 184


class Part(StrEnum):
    SUBJECT = "subject"
    HTML = "html"
    TEXT = "text"


class TemplateFailure(Exception):
    """A template that does not render; `part` names which one."""

    def __init__(self, part: Part, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part
        self.message = message


@dataclass(frozen=True)
class Sources:
    subject: str
    html: str
    text: str

    def of(self, part: Part) -> str:
        return {Part.SUBJECT: self.subject, Part.HTML: self.html, Part.TEXT: self.text}[part]


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


# Methods a template may call on values (`customer.name.upper()`); every other is refused.
SAFE_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip"}
    | {"startswith", "endswith", "split", "isdigit"}
)
_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Filter,
    nodes.Test,
    nodes.If,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.BinExpr,
    nodes.Tuple,
    nodes.List,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
    nodes.For,
    nodes.Call,
    nodes.FilterBlock,
    nodes.Continue,
    nodes.Break,
)


def _estimate_replace(text: str, old: str, new: str) -> int:
    hits = text.count(old) if old else len(text) + 1
    return len(text) + hits * max(len(new) - len(old), 0)


@pass_eval_context
def _replace(
    eval_ctx: EvalContext, value: Any, old: Any, new: Any, count: int | None = None
) -> Any:
    size = _estimate_replace(str(value), str(old), str(new))
    if size > MAX_OUTPUT:
        raise SecurityError("replace would build too long a text")
    _charge_before(size)
    return DEFAULT_FILTERS["replace"](eval_ctx, value, old, new, count)


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: Any = "", attribute: Any = None) -> Any:
    items = list(value)
    if len(str(d)) * len(items) > MAX_OUTPUT:
        raise SecurityError("join would build too long a text")
    _charge_before(len(str(d)) * len(items) + sum(_size(item) for item in items))
    return DEFAULT_FILTERS["join"](eval_ctx, items, d, attribute)


def _charge_before(size: int) -> None:
    """`replace` and `join` know what they will build: it is charged before it is built, so
    that the budget refuses it instead of counting it afterwards."""
    budget = current()
    if budget is not None:
        budget.count_built(size)


# Filters whose output is no bigger than their input (so, not `center`, `indent`, `format`,
# `batch`, `wordwrap`…), and `safe` left out so that data is always escaped in HTML.
_PLAIN_FILTERS = (
    *("abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first"),
    *("float", "forceescape", "groupby", "int", "items", "last", "length", "list", "lower"),
    *("map", "max", "min", "reject", "rejectattr", "reverse", "round", "select", "selectattr"),
    *("sort", "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper"),
    *("urlencode", "wordcount"),
)
# Filters that go over every item (sorting is more than linear): their input is capped.
_ITEM_FILTERS = frozenset(
    {"dictsort", "groupby", "join", "list", "map", "max", "min", "reject", "rejectattr"}
    | {"reverse", "select", "selectattr", "sort", "sum", "unique"}
)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def _budgeted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """The filter, spending from the render budget: what it builds, and for the filters that
    go over items, no more than the cap of them. (functools.wraps keeps Jinja's
    `pass_eval_context` mark.)"""
    checks_items = name in _ITEM_FILTERS
    charged_before = name in ("replace", "join")  # by _charge_before
    value_at = 1 if hasattr(function, "jinja_pass_arg") else 0  # after Jinja's context, if any

    @functools.wraps(function)
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        if budget is None:  # constant folding while compiling: only each call's own caps
            return function(*args, **kwargs)
        if checks_items:
            budget.check_items(_size(args[value_at]), name)
        result = function(*args, **kwargs)
        if not charged_before:
            budget.count_built(_size(result))
        return result

    return budgeted


# The filter every loop goes through (its name cannot be written in a template).
_LOOP_FILTER = "assina loop"


def _counted_loop(items: Iterable[Any]) -> Iterator[Any]:
    budget = current()
    for item in items:
        if budget is not None:
            budget.count_iteration()
        yield item


_FILTERS_USED = {name: DEFAULT_FILTERS[name] for name in _PLAIN_FILTERS} | {
    "replace": _replace,
    "join": _join,
}
FILTERS: dict[str, Any] = {name: _budgeted(name, f) for name, f in _FILTERS_USED.items()}


class _Compiler(CodeGenerator):
    """Jinja's code generator, with `a ~ b` spending from the budget too."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 - Jinja's name
        self.write("environment.joined(")
        super().visit_Concat(node, frame)
        self.write(")")


def _paced(tokens: Iterable[Token]) -> Iterator[Token]:
    """The parser's tokens, at most MAX_TOKENS, pausing as rendering does: parsing a source
    of 100,000 characters takes a fifth of a second of pure Python, before any node cap."""
    pace = Pace(time.monotonic())
    for count, token in enumerate(tokens, 1):
        if count % 64 == 0:
            if count > MAX_TOKENS:
                raise SecurityError(f"the template has more than {MAX_TOKENS:,} tokens")
            pace.keep(time.monotonic())
        yield token


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})
    code_generator_class = _Compiler

    def _tokenize(
        self,
        source: str,
        name: str | None,
        filename: str | None = None,
        state: str | None = None,
    ) -> TokenStream:
        stream = super()._tokenize(source, name, filename, state)
        return TokenStream(_paced(stream), name, filename)

    def joined(self, value: Any) -> Any:
        budget = current()
        if budget is not None:
            budget.count_built(_size(value))
        return value

    def call(
        __self,  # noqa: N805 - Jinja's own signature: keywords may be named `self`
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        result = super().call(__context, __obj, *args, **kwargs)
        budget = current()
        if budget is not None:
            budget.count_built(_size(result))
        return result

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if callable(value) and attr not in SAFE_METHODS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> None:
        return None  # `format` is refused as any other method is (is_safe_attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current()
        if budget is not None:
            budget.tick()
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
            _check_product(left, right)
            product = left * right
            if budget is not None:
                budget.count_built(_size(product))
            return product
        if operator == "**":
            _check_power(left, right)
            return left**right
        if isinstance(left, str):
            raise SecurityError("% on text is not available; use ~ to join text")
        return left % right


def _check_repeat(sequence: Any, times: Any) -> None:
    repeats = isinstance(sequence, str | list | tuple) and isinstance(times, int)
    if repeats and len(sequence) * times > MAX_REPEAT:
        raise SecurityError(f"* may build at most {MAX_REPEAT} items")


def _check_product(left: Any, right: Any) -> None:
    integers = isinstance(left, int) and isinstance(right, int)
    if integers and abs(left).bit_length() + abs(right).bit_length() > MAX_POWER_BITS:
        raise SecurityError("the product is too large")


def _check_power(base: Any, exponent: Any) -> None:
    integers = isinstance(base, int) and isinstance(exponent, int) and exponent > 0
    if integers and max(abs(base).bit_length(), 1) * exponent > MAX_POWER_BITS:
        raise SecurityError("the power is too large")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _environment(html: bool) -> _Sandbox:
    environment = _Sandbox(
        autoescape=html,
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.clear()
    environment.filters = dict(FILTERS) | {_LOOP_FILTER: _counted_loop}
    return environment


_HTML = _environment(html=True)
_TEXT = _environment(html=False)


# --- static checks ----------------------------------------------------------------------------


def _check_node(node: nodes.Node, loop_depth: int) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise SecurityError(f"{type(node).__name__} is not available in e-mail templates")
    if isinstance(node, nodes.Name) and node.name == "self":
        raise SecurityError("'self' is not available in e-mail templates")
    if isinstance(node, nodes.For):
        if loop_depth > 0 or node.recursive:
            raise SecurityError("a loop inside a loop is not available")
        if not _is_data(node.iter):
            raise SecurityError("a loop may only go over a variable, such as charge.lines")
    if isinstance(node, nodes.Call):
        callee = node.node
        if not isinstance(callee, nodes.Getattr) or callee.attr not in SAFE_METHODS:
            methods = ", ".join(sorted(SAFE_METHODS))
            raise SecurityError(f"only these methods may be called: {methods}")


def _is_data(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Name):
        return True
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Filter) and node.node is not None:
        return _is_data(node.node)
    return False


def _walk(template: nodes.Template) -> None:
    """Every node allowed, and no more than MAX_NODES of them (compiling costs about 0.1 ms a
    node, in one piece, outside the render budget); iterative, so a deeply nested template
    is no recursion risk."""
    stack: list[tuple[nodes.Node, int]] = [(template, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise SecurityError(
                f"the template has more than {MAX_NODES:,} parts (tags, variables, filters, "
                "operators…); the defaults have under 100"
            )
        _check_node(node, depth)
        if isinstance(node, nodes.For):
            stack.append((node.iter, depth))
            stack.extend((child, depth + 1) for child in (*node.body, *node.else_))
            if node.test is not None:
                stack.append((node.test, depth + 1))
            continue
        stack.extend((child, depth) for child in node.iter_child_nodes())


def _check_names(template: nodes.Template, kind: EmailKind) -> None:
    allowed = allowed_names(kind)
    for name in sorted(find_undeclared_variables(template)):
        if name not in allowed:
            raise SecurityError(
                f"{name!r} is not a variable of {kind} e-mails; they have {', '.join(allowed)}"
            )
    for node in template.find_all((nodes.Getattr, nodes.Getitem)):
        inner = getattr(node, "node", None)
        if not isinstance(inner, nodes.Name) or not allowed.get(inner.name):
            continue
        if isinstance(node, nodes.Getattr):
            key: str | None = node.attr
        else:
            key = _constant(getattr(node, "arg", None))
        if key is not None and key not in allowed[inner.name]:
            fields = ", ".join(sorted(allowed[inner.name]))
            raise SecurityError(f"{inner.name} has no {key!r}; it has {fields}")


def _count_loops(template: nodes.Template) -> None:
    """Every loop goes over its items through the loop filter, which counts them."""
    for loop in template.find_all(nodes.For):
        loop.iter = nodes.Filter(
            loop.iter, _LOOP_FILTER, [], [], None, None, lineno=loop.iter.lineno
        )


def _constant(node: nodes.Node | None) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def compiled(source: str, part: Part, kind: EmailKind) -> Template:
    """The checked, compiled template. Raises TemplateFailure."""
    outcome = _compile(source, part, kind)
    if isinstance(outcome, TemplateFailure):  # a new one: a cached one would grow its traceback
        raise TemplateFailure(outcome.part, outcome.message)
    return outcome


@functools.lru_cache(maxsize=128)
def _compile(source: str, part: Part, kind: EmailKind) -> Template | TemplateFailure:
    """Cached, failures too (a calendar pass renders the same few sources for thousands of
    customers; a refused source sent again is not parsed again): 128 of them, up to ~300 KB
    each at MAX_NODES."""
    environment = _HTML if part == Part.HTML else _TEXT
    try:
        tree = environment.parse(source)
        _walk(tree)
        _check_names(tree, kind)
        _count_loops(tree)
        return environment.from_string(tree)
    except Exception as error:  # syntax, sandbox, or the parser's own recursion limit
        return TemplateFailure(part, describe(error))


def describe(error: BaseException) -> str:
    line = getattr(error, "lineno", None)
    message = str(getattr(error, "message", None) or error) or type(error).__name__
    if isinstance(error, RecursionError):
        message = "the template is nested too deeply"
    elif not isinstance(error, TemplateError):
        message = f"{type(error).__name__}: {message}"
    return f"line {line}: {message}" if line else message


# --- rendering --------------------------------------------------------------------------------


# Control characters but tab and line breaks: NUL breaks PostgreSQL's text columns, the others
# an e-mail's headers or its reader.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def render_part(
    source: str,
    part: Part,
    kind: EmailKind,
    variables: Mapping[str, Any],
    strip_controls: bool = False,
    limits: Limits = LIMITS,
) -> str:
    """The part rendered within the budget's `limits`. Control characters in the output (a
    tenant's `{{ "\\x00" }}`) fail it, like a syntax error; with `strip_controls` (the
    defaults, whose only source of them is stored data) they are dropped instead."""
    template = compiled(source, part, kind)
    chunks: list[str] = []
    size = 0
    try:
        with spending(limits):
            for chunk in template.generate(variables):
                size += len(chunk)
                if size > limits.output:
                    raise BudgetExceeded(
                        "output", f"the output is longer than {limits.output:,} characters"
                    )
                chunks.append(chunk)
    except Exception as error:
        raise TemplateFailure(part, describe(error)) from error
    output = "".join(chunks)
    control = _CONTROLS.search(output)
    if control is not None and not strip_controls:
        code = f"U+{ord(control.group()):04X}"
        raise TemplateFailure(part, f"the output contains the control character {code}")
    return _tidy(_CONTROLS.sub("", output), part)


def _tidy(output: str, part: Part) -> str:
    if part == Part.SUBJECT:
        return " ".join(output.split())[:MAX_SUBJECT]
    if part == Part.TEXT:
        lines = "\n".join(line.rstrip() for line in output.splitlines())
        return re.sub(r"\n{3,}", "\n\n", lines).strip("\n") + "\n"
    return output


def render_email(
    sources: Sources,
    kind: EmailKind,
    variables: Mapping[str, Any],
    strip_controls: bool = False,
    limits: Limits = LIMITS,
) -> Rendered:
    """Raises TemplateFailure for the first part that fails. Each part has its own budget."""
    return Rendered(
        subject=render_part(sources.subject, Part.SUBJECT, kind, variables, strip_controls, limits),
        html=render_part(sources.html, Part.HTML, kind, variables, strip_controls, limits),
        text=render_part(sources.text, Part.TEXT, kind, variables, strip_controls, limits),
    )


def template_failures(
    sources: Sources,
    kind: EmailKind,
    samples: Sequence[Mapping[str, Any]],
    limits: Limits = LIMITS,
) -> list[TemplateFailure]:
    """What is wrong with each part, rendered with every set of sample variables."""
    failures = []
    for part in Part:
        try:
            for variables in samples:
                render_part(sources.of(part), part, kind, variables, limits=limits)
        except TemplateFailure as failure:
            failures.append(failure)
    return failures
