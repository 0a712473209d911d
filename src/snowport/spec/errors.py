"""How an invalid spec is refused: one `SnowflakeError` naming the field path and the line.

Snowflake answers a bad spec at CREATE / ALTER SERVICE and EXECUTE JOB SERVICE as a compilation error
of the statement. Snowport uses 002025 / 22023, its code for an invalid property value (the spec is
the value of the statement's SPECIFICATION), with the message
`SQL compilation error:\nInvalid spec: <path>: <problem> (line N)`.
"""

from __future__ import annotations

from snowport.errors import SnowflakeError, compilation

CODE = 2025
SQLSTATE = "22023"


class SpecError(SnowflakeError):
    """An invalid spec: `path` is the dotted field path as written (`spec.containers[0].image`),
    `line` the 1-based line in the spec text (None when the text has no such place)."""

    def __init__(self, path: str | None, problem: str, line: int | None = None) -> None:
        detail = f"{path}: {problem}" if path else problem
        if line is not None:
            detail += f" (line {line})"
        super().__init__(CODE, SQLSTATE, compilation(f"Invalid spec: {detail}"))
        self.path = path
        self.problem = problem
        self.line = line
