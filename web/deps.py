"""FastAPI dependencies as Annotated aliases, and the one page-or-fragment render helper."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from domain.account import SECOND_FACTOR_ROLES
from projections.database import is_postgres
from projections.readmodels import ReadModels
from projections.tree import ProofService
from tracker.application import Principal, Tracker
from tracker.photos import PhotoStore
from tracker.settings import Settings
from web.i18n import LANGUAGE_NAMES, direction, format_locale, request_language, translator
from web.security import csrf_token, end_session

T = TypeVar("T")

# Dependencies that do no blocking work are coroutines: FastAPI runs a plain `def` dependency in
# the thread pool, a hop (and an event-loop wake-up) per dependency per request. Those that ask the
# database stay plain functions, one hop each.

def get_tracker(request: Request) -> Tracker:
    return request.app.state.tracker


def get_read_models(request: Request) -> ReadModels:
    """The `projections.ReadModels` of this process (see the read-model interface)."""
    return request.app.state.read_models


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _tracker(request: Request) -> Tracker:
    return get_tracker(request)


async def _read_models(request: Request) -> ReadModels:
    return get_read_models(request)


async def _photos(request: Request) -> PhotoStore:
    return request.app.state.photos


SettingsDep = Annotated[Settings, Depends(_settings)]
PhotosDep = Annotated[PhotoStore, Depends(_photos)]
TrackerDep = Annotated[Tracker, Depends(_tracker)]
ReadModelsDep = Annotated[ReadModels, Depends(_read_models)]


async def get_fresh_read_models(request: Request) -> ReadModels:
    """`fresh_read_models` as a dependency: the log's head asked without a thread-pool hop
    (`ask_log_head`), and a hop only when the read models must catch up (a page's sync
    dependency had cost one on every request)."""
    if await ask_log_head(request) > read_models_position(request):
        return await run_in_threadpool(fresh_read_models, request)
    return get_read_models(request)


def fresh_read_models(request: Request) -> ReadModels:
    """The read models, first brought up to the end of the log, so that events written by another
    worker or by the command line show at once. When the log has not grown since the last catch-up
    this costs one query (the log's last position) instead of one per view."""
    read_models = get_read_models(request)
    head = log_head(request)
    if head > read_models_position(request):
        read_models.catch_up()
        read_models_reached(request, head)
    return read_models


async def read_hop(request: Request, read: Callable[[], T],
                   from_memory: Callable[[], T | None] | None = None) -> T:
    """`read()`, a read of fresh read models, where it costs least: on the event loop when the
    read models already include the log's head (asked on the loop: `ask_log_head`) and the store
    is SQLite, so that it only queries a local file, in microseconds from the page cache (waking
    a thread-pool worker and then the loop again took a quarter of a cached API read's CPU), or
    `from_memory()` has the answer without asking the database (None when it has not); in the
    thread pool when the read models must first catch up (writes, which may wait for another
    process's lock) or the store is PostgreSQL, whose every query waits on the network."""
    if await ask_log_head(request) <= read_models_position(request):
        if not is_postgres(request.app.state.settings.database_url):
            return read()
        found = from_memory() if from_memory else None
        if found is not None:
            return found
    return await run_in_threadpool(read)


async def command_hop(request: Request, command: Callable[[], T]) -> T:
    """`command()`, a command given to the tracker, where it costs least: on SQLite on the
    event loop when this process can take the database's write lock at once (held for the
    whole command, so no other writer makes the loop wait: the command reads and writes a local
    file, under a millisecond with its fsync), and in the thread pool when another thread or
    process holds it, or on PostgreSQL, whose every statement waits on the network. On the
    loop a command took 1.7 to 2.3 ms of the server's CPU instead of 3.0 to 3.3 in a worker
    thread (bench command): the worker and the loop passing the interpreter lock back and forth
    cost more than the command itself."""
    lock = get_tracker(request).write_lock
    if lock is not None:
        with lock.held_if_free() as held:
            if held:
                return command()
    return await run_in_threadpool(command)


async def ask_log_head(request: Request) -> int:
    """`log_head`, asked without a thread-pool hop: on PostgreSQL on the event loop (its async
    connection, `projections.database.AsyncLogHead`), on SQLite from the local file at once;
    through the event store in the thread pool when PostgreSQL cannot be asked that way."""
    head = getattr(request.state, "log_head", None)
    if head is None:
        asker = getattr(request.app.state, "log_head_asker", None)
        head = await asker.ask() if asker is not None else None
        if head is not None:
            request.state.log_head = head
        elif asker is not None:
            head = await run_in_threadpool(log_head, request)
        else:
            head = log_head(request)
    return head


def log_head(request: Request) -> int:
    """The log's last position, asked once per request (the read models' catch-up and an API
    token's check both use it)."""
    head = getattr(request.state, "log_head", None)
    if head is None:
        head = request.state.log_head = get_tracker(request).recorder.max_notification_id() or 0
    return head


def read_models_position(request: Request) -> int:
    """A position every view of this process's read models is known to include (-1: none yet):
    what is read from them after this call is at least that new."""
    return getattr(request.app.state, "read_models_at", -1)


def read_models_reached(request: Request, position: int) -> None:
    """Remember that every view includes `position` (views apply the log in order)."""
    state = request.app.state
    state.read_models_at = max(getattr(state, "read_models_at", -1), position)


FreshReadModelsDep = Annotated[ReadModels, Depends(get_fresh_read_models)]


async def get_proofs(read_models: FreshReadModelsDep, request: Request) -> ProofService:
    """Signed tree heads and proofs, over read models brought up to the end of the log."""
    return request.app.state.proofs


ProofsDep = Annotated[ProofService, Depends(get_proofs)]


def optional_principal(request: Request, tracker: TrackerDep) -> Principal | None:
    """The acting account: a bearer token (`Authorization: Bearer ...`) or the session cookie."""
    if hasattr(request.state, "principal"):  # resolved once per request
        return request.state.principal
    token = bearer_token(request)
    principal = None
    if token is not None:
        principal = tracker.principal_for_token(token, head=read_head(request))
    else:
        principal = session_principal(request, tracker)
    request.state.principal = principal  # for the page layout (who is signed in)
    return principal


def read_head(request: Request) -> int | None:
    """The log's head for checking who acts (`Tracker.checked_at`): a read asks for it anyway
    (its read models catch up to it); a command moves it, so it checks versions (None)."""
    return log_head(request) if request.method in ("GET", "HEAD") else None


def bearer_token(request: Request) -> str | None:
    """The API token of `Authorization: Bearer ...`, if the request has one."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


NOT_KEPT = object()


def kept_principal(request: Request) -> Principal | None | object:
    """`optional_principal` when it is known without asking the database (a token already
    checked at the log's head, asked by `ask_log_head`), else NOT_KEPT."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    token, head = bearer_token(request), getattr(request.state, "log_head", None)
    if token is None or head is None:
        return NOT_KEPT
    known, principal = get_tracker(request).kept_token_principal(token, head)
    if not known:
        return NOT_KEPT
    request.state.principal = principal
    return principal


def session_principal(request: Request, tracker: Tracker) -> Principal | None:
    """The account of the session, while the session is still good: the account is active and
    has not ended its sessions since this one started (its epoch); otherwise the session ends
    here. So does the session of an administrator or auditor without a second factor once one
    is required: signing in again leads them to set one up (`web.account`)."""
    session = request.scope.get("session")
    account_id = session.get("account_id") if session is not None else None
    if not account_id:
        return None
    principal = tracker.principal_by_id(account_id, head=read_head(request))
    if principal is None or principal.session_epoch != session.get("epoch"):
        end_session(request)
        return None
    if needs_second_factor(request, principal):  # required since this session started
        end_session(request)
        return None
    return principal


def needs_second_factor(request: Request, principal: Principal) -> bool:
    """True for an administrator or auditor who has no second factor while one is required."""
    return (request.app.state.settings.require_second_factor and not principal.second_factor
            and principal.role in SECOND_FACTOR_ROLES)


def pending_sign_in(principal: Principal, *, enrol: bool, next_url: str) -> dict[str, Any]:
    """What a session keeps between the password and the second factor (or its enrolment)."""
    return {"account_id": principal.account_id, "name": principal.name, "at": time.time(),
            "enrol": enrol, "next": next_url}


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipal) -> Principal:
    """The acting account, or 401 for an anonymous request."""
    if principal is None:
        raise NotSignedIn()
    return principal


class NotSignedIn(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def deferred_principal(request: Request) -> Callable[[], Principal]:
    """`CurrentPrincipal` for an endpoint that asks the database anyway: who acts is looked up
    (`optional_principal`) when the endpoint calls the answer, in the endpoint's own thread-pool
    hop instead of one of its own. A request with no credentials at all is refused here, before
    its body is read (401, as with `CurrentPrincipal`)."""
    session = request.scope.get("session")
    bearer = bearer_token(request) is not None
    if not bearer and not (session is not None and session.get("account_id")):
        raise NotSignedIn()
    tracker = get_tracker(request)

    def resolve() -> Principal:
        principal = optional_principal(request, tracker)
        if principal is None:
            raise NotSignedIn()
        return principal

    return resolve


DeferredPrincipal = Annotated[Callable[[], Principal], Depends(deferred_principal)]


def needs_account(dependant: Any) -> bool:
    """Whether answering needs a signed-in account: `current_principal` or `deferred_principal`
    among a route's (FastAPI `Dependant`) dependencies."""
    return any(d.call in (current_principal, deferred_principal) or needs_account(d)
               for d in dependant.dependencies)


def token_identifies_no_one(request: Request) -> bool:
    """Whether the request's bearer token identifies no one on a route that needs someone: its
    body's faults then come second, since the caller could fix them only to be refused again
    (web.api: 401 instead of 400 or 422)."""
    route = getattr(request.scope.get("route"), "dependant", None)
    return (bearer_token(request) is not None and route is not None and needs_account(route)
            and optional_principal(request, get_tracker(request)) is None)


# --- rendering ------------------------------------------------------------------------------------

def wants_fragment(request: Request) -> bool:
    """An htmx request that swaps part of a page (not a boosted navigation, not a history restore)."""
    headers = request.headers
    return (headers.get("hx-request") == "true"
            and headers.get("hx-boosted") != "true"
            and headers.get("hx-history-restore-request") != "true")


def language_context(request: Request) -> dict[str, Any]:
    """The reader's language as the templates use it (words, numbers and dates, direction), and
    nothing else of the reader."""
    language = request_language(request)
    return {
        "locale": language,
        "format_locale": format_locale(request, language),
        "direction": direction(language),
        "languages": LANGUAGE_NAMES,
        "translations": translator(request.app.state.catalogues, language),
    }


def page_context(request: Request) -> dict[str, Any]:
    """What every template may use: the language, the CSRF token, who is signed in, where we are."""
    return {
        "request": request,
        **language_context(request),
        "csrf_token": csrf_token(request) if "session" in request.scope else "",
        "principal": getattr(request.state, "principal", None),
        "flash": request.session.pop("flash", None) if "session" in request.scope else None,
        "current_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


class Macros:
    """The shared macros (`_macros.html`, as `m` in the templates), made once per render from its
    context, on first use. Imported "with context" in each block, the whole file was evaluated
    again for each: six times for the workspace page, a sixth of its rendering. The macros read
    only the context's language, its CSRF token and the globals."""

    def __init__(self, env: Any, context: Mapping[str, Any]) -> None:
        self._env, self._context, self._module = env, context, None

    def __getattr__(self, name: str) -> Any:
        if self._module is None:
            self._module = self._env.get_template("_macros.html").make_module(dict(self._context))
        return getattr(self._module, name)


def shared_block(request: Request, kept: Any, key: tuple, name: str, block: str,
                 context: Callable[[], Mapping[str, Any]]) -> Markup:
    """One block of a template, rendered alone from `context()` and the reader's language, and
    from nothing else of the reader (no request, CSRF token, account or flash: the template
    cannot show them), so it is the same HTML for every reader in that language: kept in `kept`
    (a `FiguresCache`) under `key` and the language. `key` must name everything `context()`
    depends on (the position the rows were read at, the day, the filters); a context that holds
    something of one reader (a CSRF token) makes it that reader's, named in `key` too
    (`web.workspace.reader_forms`)."""
    from jinja2_fragments import render_block

    language = language_context(request)
    env = request.app.state.templates.env

    def html() -> str:
        values = {**language, "drawn": {}, **context()}  # (drawn alone: all of it, see workspace)
        return render_block(env, name, block, {**values, "m": Macros(env, values)})

    # (an autoescaped template's output: already HTML)
    return kept.get((*key, language["locale"], language["format_locale"]),
                    lambda: Markup(html()))  # noqa: S704


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           block: str | None = None, blocks: Sequence[str] | None = None,
           status_code: int = 200, headers: Mapping[str, str] | None = None,
           fragment: bool | None = None) -> Response:
    """The page, or (for an htmx request, when `block`/`blocks` are given) only those blocks.

    `fragment` forces the choice (True: blocks, False: page). Every answer says `Vary: HX-Request`,
    so a cache never serves a fragment for a page or the reverse.
    """
    templates = request.app.state.templates
    full_context = page_context(request)
    full_context.update(context or {})
    full_context["m"] = Macros(templates.env, full_context)
    as_fragment = wants_fragment(request) if fragment is None else fragment
    kwargs: dict[str, Any] = {}
    if as_fragment and blocks:
        kwargs["block_names"] = list(blocks)
    elif as_fragment and block:
        kwargs["block_name"] = block
    response = templates.TemplateResponse(request, name, full_context, status_code=status_code,
                                          headers=dict(headers or {}), **kwargs)
    vary = response.headers.get("vary")
    response.headers["vary"] = f"{vary}, HX-Request" if vary else "HX-Request"
    return response
