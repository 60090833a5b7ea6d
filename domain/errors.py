"""Errors a committee member can read: each message says what was refused and why."""


def N_(message: str) -> str:
    """Marks a message for the catalogues without translating it here (it is translated on display,
    in the reader's language). Extraction: see docs/ARCHITECTURE.md."""
    return message


class DomainError(Exception):
    """A command was refused by a rule of the domain."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransitionRefused(DomainError):
    """The action is not allowed in the aggregate's current status."""

    code = "transition_refused"


class InvalidInput(DomainError):
    """A value given with a command is not acceptable."""

    code = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooLarge(InvalidInput):
    """A value (an uploaded file) is larger than the limit."""

    code = "too_large"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """Someone else changed the aggregate since the caller read it, or the name is taken."""

    code = "conflict"


class Forbidden(DomainError):
    """The acting account may not do this."""

    code = "forbidden"


class InvalidRows(InvalidInput):
    """Rows of an imported table that cannot be applied: each problem as (row, column, message),
    the header being row 1. Nothing of the table is applied."""

    def __init__(self, rows: list[dict[str, object]]) -> None:
        first = rows[0] if rows else {}
        super().__init__(f"{len(rows)} problem(s) in the table; nothing was changed; the first: "
                         f"row {first.get('row')}, column {first.get('column')}: "
                         f"{first.get('message')}", None)
        self.rows = rows
