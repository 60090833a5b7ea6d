"""Errors as answers: one table from the domain's errors to HTTP, one JSON shape for every 4xx.

Every refusal under /api is `{"error": {"code", "message", "field"?}}` (the contract; an imported
table's refusal adds `rows`: `[{"row", "column", "message"}]`, every problem), whichever
part of the app raised it: a domain rule, the policy, the CSRF check, FastAPI's validation, an
unknown route, an anonymous call. Pages show the same status and message (`web/app.py`). Messages
are in the reader's language (the session's choice, else the account's preference, else
Accept-Language, else French); a message that carries values is translated by the catalogue's
entry with placeholders it was made from (`web.i18n.translate_message`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    N_,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidRows,
    NotFound,
    TooLarge,
    TransitionRefused,
)
from projections import ReadModelTimeout
from projections.binding import UnboundEvent
from web.deps import NotSignedIn
from web.i18n import DEFAULT_LANGUAGE, LANGUAGES, negotiate, translate_message, translator
from web.security import CSRFError

# The one table: a domain error's HTTP status (its `code` is the error's own).
DOMAIN_STATUS: dict[type[DomainError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TransitionRefused: 409,
    TooLarge: 413,  # before InvalidInput, which it is
    InvalidInput: 422,
}
HTTP_CODES = {400: "bad_request", 401: "not_signed_in", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "bad_media_type",
              422: "invalid", 429: "too_many_requests"}
NOT_SIGNED_IN = N_("sign in or send an API token as 'Authorization: Bearer TOKEN'")
UNBOUND = N_("a stored record was not written by this tracker, so it is not read; nothing was "
             "changed: an administrator should run 'tracker verify'")
READ_MODELS_LAG = N_("your change was recorded, but the lists are slow to show it; "
                     "reload the page in a moment")


def status_of(exc: DomainError) -> int:
    return next((s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls)), 422)


def reader_language(request: Request | None) -> str:
    """The language to answer in: the session's choice, the signed-in account's preference,
    Accept-Language, French."""
    if request is None:
        return DEFAULT_LANGUAGE
    chosen = request.session.get("lang") if "session" in request.scope else None
    principal = getattr(request.state, "principal", None)
    preferred = getattr(principal, "language", None)
    for language in (chosen, preferred):
        if language in LANGUAGES:
            return language
    return negotiate(request.headers.get("accept-language")) or DEFAULT_LANGUAGE


def in_reader_language(request: Request | None, message: str) -> str:
    if request is None or not hasattr(request.app.state, "catalogues"):
        return message
    return translate_message(translator(request.app.state.catalogues, reader_language(request)),
                             message)


def error_json(status: int, code: str, message: str, field: str | None = None,
               headers: dict[str, str] | None = None,
               rows: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if rows is not None:
        body["rows"] = rows
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str, str | None]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "bad_request", "the request body is not valid JSON", None
    parts, field = [], None
    for error in errors[:3]:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc) or "body"
        field = field or (loc[0] if loc else None)
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, "invalid", "; ".join(parts) + more, field


def described(exc: Exception, request: Request | None = None
              ) -> tuple[int, str, str, str | None, dict[str, str]] | None:
    """(status, code, message, field, headers) for an error a request caused; None: not ours."""
    if isinstance(exc, CSRFError):
        signed_in = request is not None and "session" in request.scope and \
            request.session.get("account_id")
        if not signed_in:  # no session to protect: the caller simply is not signed in
            return described(NotSignedIn(), request)
        return 403, "csrf", in_reader_language(request, exc.message), None, {}
    if isinstance(exc, DomainError):
        return (status_of(exc), exc.code, in_reader_language(request, exc.message),
                getattr(exc, "field", None), {})
    if isinstance(exc, NotSignedIn):
        return (401, "not_signed_in", in_reader_language(request, NOT_SIGNED_IN), None,
                {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, ReadModelTimeout):
        # The command was saved; only the read models lag behind. Say so rather than fail.
        return 503, "read_model_lag", in_reader_language(request, READ_MODELS_LAG), None, {}
    if isinstance(exc, UnboundEvent):
        # A row written outside the tracker (the database was changed behind its back).
        return 503, "record_unbound", in_reader_language(request, UNBOUND), None, {}
    if isinstance(exc, RequestValidationError):
        status, code, message, field = _validation_message(exc)
        return status, code, in_reader_language(request, message), field, {}
    if isinstance(exc, StarletteHTTPException) and 400 <= exc.status_code < 500:
        message = exc.detail if isinstance(exc.detail, str) else "the request was refused"
        return (exc.status_code, HTTP_CODES.get(exc.status_code, "refused"),
                in_reader_language(request, message), None, dict(exc.headers or {}))
    return None


def error_response(exc: Exception, request: Request | None = None) -> JSONResponse | None:
    """The JSON answer for an error raised while serving an API request (None: not ours)."""
    found = described(exc, request)
    if found is None:
        return None
    status, code, message, field, headers = found
    return error_json(status, code, message, field, headers=headers or None,
                      rows=row_problems(exc, request))


def row_problems(exc: Exception, request: Request | None = None) -> list[dict[str, Any]] | None:
    """An imported table's problems (InvalidRows), each message in the reader's language."""
    if not isinstance(exc, InvalidRows):
        return None
    return [{"row": p["row"], "column": p["column"],
             "message": in_reader_language(request, str(p["message"]))} for p in exc.rows]
