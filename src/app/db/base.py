"""Declarative base with a naming convention, so migrations name constraints predictably."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Dialect, MetaData, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=StrEnum)

# Ids are bigint: a larger number from a request cannot name a row (and would fail the query).
BIGINT_MAX = 2**63 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def in_list(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK that `column` takes one of `values`."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def count_of(result: object) -> int:
    """How many rows a DML statement's result touched."""
    return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult of a DML statement


def sql_literal(value: StrEnum) -> str:
    """An enum member as an SQL string literal, for queries written as text.

    The planner must see states as constants: partial indexes (`WHERE state = 'pending'`) are
    only used when the query's condition is the same constant, never a bound parameter.
    """
    return "'" + value.value.replace("'", "''") + "'"


def sql_list(*values: StrEnum) -> str:
    """Enum members as a parenthesised list of SQL literals, for `IN (...)`."""
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


class EnumText(TypeDecorator[E], Generic[E]):
    """A TEXT column holding an enum's values, read back as the enum (CHECKs keep it honest)."""

    impl = Text
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)
