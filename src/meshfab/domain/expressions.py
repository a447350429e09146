"""Parser of meshfab's rule and formula language into the typed tree of ``expression_ast``.

A hand-written recursive-descent parser, so that templates never reach ``eval`` and every error names the
character position in the expression. Precedence, loosest first::

    requires / implies / excludes  (one per expression, not chained: ``a requires b requires c`` is unclear)
    or
    and
    not
    comparison  = != < <= > >=  and  [not] in [..]
    + -
    * /
    unary -
    atoms: numbers, 'strings', names, f(args), lookup(option, {value: number, else: number}), ( .. )

Numbers carry no units: ``sleeve_cm <= 60`` — a literal like ``60cm`` is read as a bare word, which the
template checks reject with a message naming the unit, rather than silently ignoring it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from meshfab.domain.expression_ast import (
    Binary,
    Bool,
    Call,
    Expr,
    InList,
    Lookup,
    Name,
    Number,
    Text,
    Unary,
)

KEYWORDS = frozenset({"and", "or", "not", "in", "requires", "implies", "excludes", "true", "false"})
FUNCTIONS = frozenset({"given", "len", "if", "min", "max", "ceil", "floor", "round", "abs"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<word>\d+(?:\.\d+)?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>==|!=|<=|>=|[=<>()\[\]{},:+\-*/])
    """,
    re.VERBOSE,
)


class ExpressionError(ValueError):
    def __init__(self, message: str, pos: int, source: str) -> None:
        self.message = message
        self.pos = pos
        self.source = source
        super().__init__(f"{message} at position {pos + 1} in {source!r}")


@dataclass(frozen=True)
class _Token:
    kind: str  # number, word, name, string, op, keyword, end
    text: str
    pos: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {source[pos]!r}", pos, source)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text in KEYWORDS:
            kind = "keyword"
        if kind == "op" and text == "==":
            text = "="
        if kind != "space":
            tokens.append(_Token(kind, text, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def error(self, message: str, token: _Token | None = None) -> ExpressionError:
        token = token or self.token
        return ExpressionError(message, token.pos, self.source)

    def accept(self, *texts: str) -> _Token | None:
        token = self.token
        if token.kind in ("op", "keyword") and token.text in texts:
            self.index += 1
            return token
        return None

    def expect(self, text: str) -> _Token:
        token = self.accept(text)
        if token is None:
            found = self.token.text or "end of expression"
            raise self.error(f"expected {text!r}, found {found!r}")
        return token

    def parse(self) -> Expr:
        if self.token.kind == "end":
            raise self.error("empty expression")
        expr = self.implication()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.token.text!r}")
        return expr

    def implication(self) -> Expr:
        left = self.disjunction()
        token = self.accept("requires", "implies", "excludes")
        if token is None:
            return left
        right = self.disjunction()
        if self.accept("requires", "implies", "excludes"):
            raise self.error("use parentheses to chain 'requires'/'excludes'", self.tokens[self.index - 1])
        op = "excludes" if token.text == "excludes" else "requires"
        return Binary(op, left, right, token.pos)

    def disjunction(self) -> Expr:
        expr = self.conjunction()
        while token := self.accept("or"):
            expr = Binary("or", expr, self.conjunction(), token.pos)
        return expr

    def conjunction(self) -> Expr:
        expr = self.negation()
        while token := self.accept("and"):
            expr = Binary("and", expr, self.negation(), token.pos)
        return expr

    def negation(self) -> Expr:
        if token := self.accept("not"):
            return Unary("not", self.negation(), token.pos)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.sum()
        if token := self.accept("=", "!=", "<", "<=", ">", ">="):
            return Binary(token.text, left, self.sum(), token.pos)
        start = self.index
        negated = self.accept("not") is not None
        if token := self.accept("in"):
            self.expect("[")
            items = [self.sum()]
            while self.accept(","):
                items.append(self.sum())
            self.expect("]")
            return InList(left, tuple(items), negated, token.pos)
        self.index = start
        return left

    def sum(self) -> Expr:
        expr = self.product()
        while token := self.accept("+", "-"):
            expr = Binary(token.text, expr, self.product(), token.pos)
        return expr

    def product(self) -> Expr:
        expr = self.unary()
        while token := self.accept("*", "/"):
            expr = Binary(token.text, expr, self.unary(), token.pos)
        return expr

    def unary(self) -> Expr:
        if token := self.accept("-"):
            return Unary("-", self.unary(), token.pos)
        return self.atom()

    def atom(self) -> Expr:
        token = self.token
        if token.kind == "number":
            self.index += 1
            return Number(Fraction(token.text), token.pos)
        if token.kind == "word":
            self.index += 1
            return Text(token.text, token.pos, quoted=False)
        if token.kind == "string":
            self.index += 1
            return Text(token.text[1:-1], token.pos, quoted=True)
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.index += 1
            return Bool(token.text == "true", token.pos)
        if token.kind == "name":
            self.index += 1
            if self.token.text == "(" and self.token.kind == "op":
                return self.call(token)
            return Name(token.text, token.pos)
        if self.accept("("):
            expr = self.implication()
            self.expect(")")
            return expr
        found = token.text or "end of expression"
        raise self.error(f"expected a value, found {found!r}")

    def call(self, name: _Token) -> Expr:
        self.expect("(")
        if name.text == "lookup":
            return self.lookup(name)
        if name.text not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS | {"lookup"}))
            raise self.error(f"unknown function {name.text!r} (known: {known})", name)
        args = [self.implication()]
        while self.accept(","):
            args.append(self.implication())
        self.expect(")")
        return Call(name.text, tuple(args), name.pos)

    def lookup(self, name: _Token) -> Expr:
        option = self.token
        if option.kind != "name":
            raise self.error("lookup() needs an option name first")
        self.index += 1
        self.expect(",")
        self.expect("{")
        table: list[tuple[str, Expr]] = []
        default: Expr | None = None
        while True:
            key = self.token
            if key.kind not in ("name", "word", "number", "string", "keyword"):
                raise self.error("expected a value of the option as lookup key")
            self.index += 1
            self.expect(":")
            value = self.sum()
            if key.kind == "name" and key.text == "else":
                default = value
            else:
                text = key.text[1:-1] if key.kind == "string" else key.text
                if any(existing == text for existing, _ in table):
                    raise self.error(f"duplicate lookup key {text!r}", key)
                table.append((text, value))
            if not self.accept(","):
                break
        self.expect("}")
        self.expect(")")
        return Lookup(Name(option.text, option.pos), tuple(table), default, name.pos)


def parse_expression(source: str) -> Expr:
    """Parse a rule or formula; raises ``ExpressionError`` with the position of the first problem."""
    return _Parser(source).parse()
