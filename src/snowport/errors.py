"""One exception family for every Snowflake-visible error.

Each surface renders a `SnowflakeError` its own way (wire JSON, REST JSON, HTTP status), so the
code, SQLSTATE and message form are decided once, here, where the command fails.
"""

from __future__ import annotations


class SnowflakeError(Exception):
    """An error with Snowflake's error code (6 digits), SQLSTATE and message text."""

    def __init__(self, code: int, sqlstate: str, message: str, error_type: str = "COMPILATION") -> None:
        super().__init__(message)
        self.code = code
        self.sqlstate = sqlstate
        self.message = message
        self.error_type = error_type

    @property
    def code_str(self) -> str:
        return f"{self.code:06d}"


def compilation(message: str) -> str:
    return f"SQL compilation error:\n{message}"


def syntax_error(line: int, position: int, token: str) -> SnowflakeError:
    """001003: the form Snowflake uses, with the 1-based line and 0-based position of the token."""
    return SnowflakeError(
        1003, "42000", compilation(f"syntax error line {line} at position {position} unexpected '{token}'.")
    )


def does_not_exist(kind: str, display_name: str) -> SnowflakeError:
    """002003: an object that is missing and one the caller may not see look the same."""
    return SnowflakeError(2003, "02000", compilation(f"{kind} '{display_name}' does not exist or not authorized."))


def object_does_not_exist(display_name: str) -> SnowflakeError:
    return SnowflakeError(2003, "42S02", compilation(f"Object '{display_name}' does not exist or not authorized."))


def already_exists(kind: str, display_name: str) -> SnowflakeError:
    return SnowflakeError(2002, "42710", compilation(f"Object '{display_name}' already exists."))


def insufficient_privileges(kind: str, display_name: str) -> SnowflakeError:
    """003001: the access-control refusal, naming the object the caller may not operate on."""
    return SnowflakeError(
        3001, "42501", f"SQL access control error:\nInsufficient privileges to operate on {kind} '{display_name}'"
    )


def use_not_possible() -> SnowflakeError:
    return SnowflakeError(2043, "02000", compilation("Object does not exist, or operation cannot be performed."))


def no_warehouse() -> SnowflakeError:
    return SnowflakeError(
        606,
        "57P03",
        "No active warehouse selected in the current session.  "
        "Select an active warehouse with the 'use warehouse' command.",
        error_type="EXECUTION",
    )


def no_database(command: str) -> SnowflakeError:
    return SnowflakeError(
        90105,
        "22000",
        f"Cannot perform {command}. This session does not have a current database. "
        "Call 'USE DATABASE', or use a qualified name.",
    )


def no_schema(command: str) -> SnowflakeError:
    return SnowflakeError(
        90106,
        "22000",
        f"Cannot perform {command}. This session does not have a current schema. "
        "Call 'USE SCHEMA', or use a qualified name.",
    )


def unsupported(feature: str) -> SnowflakeError:
    return SnowflakeError(2, "0A000", compilation(f"Unsupported feature '{feature}'."))


def invalid_value(message: str) -> SnowflakeError:
    return SnowflakeError(2025, "22023", compilation(message))


def grant_not_executed() -> SnowflakeError:
    """003102: how Snowflake refuses a GRANT the caller may not make (whatever the object)."""
    return SnowflakeError(3102, "42501", "Grant not executed: Insufficient privileges.")


def revoke_not_executed() -> SnowflakeError:
    """003103: how Snowflake refuses a REVOKE the caller may not make."""
    return SnowflakeError(3103, "42501", "Revoke not executed: Insufficient privileges.")
