"""Commands' return values as the SQL surface shows them: a status cell, a rowset, a transfer."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from snowport.commands.columns import Columns, Rows
from snowport.sql import result as R
from snowport.sql.result import Result, column, status


def rowtype(cols: Columns) -> list[dict[str, Any]]:
    return [column(c.name, c.type) for c in cols.cols]


def rows(value: Rows, statement_type_id: int | None = None) -> Result:
    kind = statement_type_id if statement_type_id is not None else (R.DESCRIBE if value.describe else R.SHOW)
    return Result(rowtype(value.columns), value.tuples(), statement_type_id=kind)


def outcome(value: Any, statement_type_id: int = R.DDL) -> Result:
    """A command's return value as a result: None → success, str → status, Rows → rowset, dict → transfer."""
    if value is None:
        return R.success(statement_type_id)
    if isinstance(value, str):
        return status(value, statement_type_id)
    if isinstance(value, Rows):
        return rows(value)
    if isinstance(value, dict):
        return Result([], [], transfer=value)
    raise TypeError(f"a command returned {type(value).__name__}")


def statement_type(expression: exp.Expr) -> int:
    """The statement type id the connector looks at (DML ids make it compute rowcount)."""
    if isinstance(expression, exp.Insert):
        return R.DML_INSERT
    if isinstance(expression, exp.Update):
        return R.DML_UPDATE
    if isinstance(expression, exp.Delete):
        return R.DML_DELETE
    if isinstance(expression, (exp.Create, exp.Drop, exp.Alter)):
        return R.DDL
    return R.SELECT
