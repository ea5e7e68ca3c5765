"""Conditions on earlier answers (`ask_if`, `screen_out_if`, a quota's `when`): read and judged.

A condition is a map of question id → test, every entry of which must hold:

    {owns_car: true}                      the answer equals the literal
    {age: {lt: 18}}                       eq, ne, lt, le, gt, ge: against one value
    {brand: {in: [fiat, toyota]}}         in, not_in: against a list
    {comment: {answered: false}}          answered: whether a value was given (not skipped)
    {any_of: [{age: {lt: 18}}, {owns_car: false}]}    "or": at least one of the conditions

Only the question types' own values are allowed (true/false for yes/no, numbers for scales and
numbers, the choice values, text for free text); ordering tests only on numbers. A question that
was skipped, or not asked, has no value: every test on its value is false (`ne` and `not_in`
included), and only `answered: false` holds. No string expressions, nothing evaluated.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias

from app.dialogue.errors import InvalidSurvey

ANY_OF = "any_of"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    NOT_IN = "not_in"
    ANSWERED = "answered"


_ORDER: dict[Op, Callable[[Any, Any], Any]] = {
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}
ORDERING = frozenset(_ORDER)
LISTS = frozenset({Op.IN, Op.NOT_IN})


@dataclass(frozen=True)
class Test:
    question_id: str
    op: Op
    value: Any  # a scalar, a tuple for in/not_in, a bool for answered


@dataclass(frozen=True)
class AnyOf:
    options: tuple[Condition, ...]


@dataclass(frozen=True)
class Condition:
    """All of `terms` hold."""

    terms: tuple[Test | AnyOf, ...]

    def question_ids(self) -> frozenset[str]:
        """Every question the condition looks at."""
        ids: set[str] = set()
        for term in self.terms:
            if isinstance(term, Test):
                ids.add(term.question_id)
            else:
                for option in term.options:
                    ids |= option.question_ids()
        return frozenset(ids)


Answers: TypeAlias = Mapping[str, Any]  # question id → value; absent or None: no value

# What a question's value may be compared with, by question type: (accepts, says what it is).
ValueCheck = Callable[[Any], bool]


def holds(condition: Condition, values: Answers) -> bool:
    """Whether the condition holds for these answers (a missing value makes a test false)."""
    return all(_term(term, values) for term in condition.terms)


def _term(term: Test | AnyOf, values: Answers) -> bool:
    if isinstance(term, AnyOf):
        return any(holds(option, values) for option in term.options)
    value = values.get(term.question_id)
    if term.op is Op.ANSWERED:
        return (value is not None) is term.value
    if value is None:
        return False
    return _compare(term.op, value, term.value)


def _compare(op: Op, value: Any, expected: Any) -> bool:
    if op is Op.EQ:
        return bool(value == expected)
    if op is Op.NE:
        return bool(value != expected)
    if op is Op.IN:
        return bool(value in expected)
    if op is Op.NOT_IN:
        return bool(value not in expected)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return bool(_ORDER[op](value, expected))


def parse_condition(
    raw: object, where: str, checks: Mapping[str, tuple[ValueCheck, str, bool]]
) -> Condition:
    """Read a condition; `checks` maps each question it may name to (accepts, kind, numeric).

    Raise InvalidSurvey naming the path of the first problem: an unknown (or later) question,
    an unknown operator, a value of the wrong type.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidSurvey(f"{where}: a condition is a non-empty map of question id to test")
    terms: list[Test | AnyOf] = []
    for key, test in raw.items():
        path = f"{where}.{key}"
        if key == ANY_OF:
            terms.append(_any_of(test, path, checks))
            continue
        if key not in checks:
            raise InvalidSurvey(f"{path}: no earlier question has this id")
        terms.append(_test(str(key), test, path, checks[key]))
    return Condition(tuple(terms))


def _any_of(raw: object, where: str, checks: Mapping[str, tuple[ValueCheck, str, bool]]) -> AnyOf:
    if not isinstance(raw, list) or not raw:
        raise InvalidSurvey(f"{where}: a non-empty list of conditions")
    return AnyOf(tuple(parse_condition(item, f"{where}.{i}", checks) for i, item in enumerate(raw)))


def _test(question_id: str, raw: object, where: str, check: tuple[ValueCheck, str, bool]) -> Test:
    accepts, kind, numeric = check
    if not isinstance(raw, Mapping):
        return Test(question_id, Op.EQ, _value(raw, where, accepts, kind))
    if len(raw) != 1:
        raise InvalidSurvey(f"{where}: one operator per question (use any_of for more)")
    name, operand = next(iter(raw.items()))
    if name not in tuple(Op):
        known = ", ".join(Op)
        raise InvalidSurvey(f"{where}.{name}: unknown operator (use one of {known})")
    op, path = Op(name), f"{where}.{name}"
    if op is Op.ANSWERED:
        if not isinstance(operand, bool):
            raise InvalidSurvey(f"{path}: expected true or false")
        return Test(question_id, op, operand)
    if op in ORDERING and not numeric:
        raise InvalidSurvey(f"{path}: only numbers can be compared this way, not {kind}")
    if op in LISTS:
        if not isinstance(operand, list) or not operand:
            raise InvalidSurvey(f"{path}: expected a non-empty list of {kind}")
        values = tuple(_value(v, f"{path}.{i}", accepts, kind) for i, v in enumerate(operand))
        return Test(question_id, op, values)
    return Test(question_id, op, _value(operand, path, accepts, kind))


def _value(raw: object, where: str, accepts: ValueCheck, kind: str) -> Any:
    if isinstance(raw, list | Mapping) or not accepts(raw):
        raise InvalidSurvey(f"{where}: expected {kind}")
    return raw
