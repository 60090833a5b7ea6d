"""The FastAPI app factory: services built in the lifespan, middleware, error pages, every router."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from domain.errors import DomainError
from projections import ReadModelTimeout
from projections.binding import UnboundEvent
from projections.database import AsyncLogHead, is_postgres
from tracker.bootstrap import (
    build_application,
    build_idempotency,
    build_photos,
    build_proofs,
    build_read_models,
    build_sessions,
    build_subscriptions,
)
from tracker.settings import Settings
from web import i18n
from web.compression import Compression, PrecompressedStatic
from web.deps import NotSignedIn, needs_account, render, wants_fragment
from web.errors import described, error_json, in_reader_language
from web.idempotency import IdempotencyKeys
from web.limits import BodyLimit
from web.public import NotModified
from web.routing import QuickRoute
from web.security import (
    AnswerHeaders,
    CSRFError,
    LoginThrottle,
    ServerSessions,
    csrf_protect,
    inline_script_policy,
)

WEB_DIR = Path(__file__).parent

class CachedStatic(PrecompressedStatic):
    """Static files (versioned names), compressed once, that cheap phones keep for a day instead
    of refetching; revalidated by their ETag alone (a Last-Modified beside it is 46 bytes more on
    every cold load for nothing: browsers send If-None-Match)."""

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = "public, max-age=86400"
        if "etag" in response.headers and "last-modified" in response.headers:
            del response.headers["last-modified"]
        return response


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    """An error as a page, or (htmx) as a message swapped into the page's message area."""
    headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"} if wants_fragment(request) else {}
    return render(request, "error.html", {"status": status, "code": code, "message": message},
                  block="error", status_code=status, headers=headers)


KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app takes at this request's path."""
    routes = request.app.router.routes
    return [method for method in KNOWN_METHODS
            if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                   for route in routes)]


def method_not_allowed(request: Request) -> Response:
    """405 `method_not_allowed` with the `Allow` header, for pages and the API alike (TRACE too)."""
    allowed = ", ".join(allowed_methods(request))
    message = in_reader_language(request, f"{request.method[:20]} is not allowed here; use {allowed}")
    if is_api(request):
        response: Response = error_json(405, "method_not_allowed", message)
    else:
        response = error_page(request, 405, "method_not_allowed", message)
    response.headers["allow"] = allowed
    return response


def install_favicon(app: FastAPI) -> None:
    """/favicon.ico, which browsers ask for on a first visit whatever the page says; kept a week."""
    icon = WEB_DIR / "static" / "favicon.ico"

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(icon, media_type="image/x-icon",
                            headers={"cache-control": "public, max-age=604800"})


def icon_uri() -> str:
    """The site's icon as a data: address, written into each page's <link rel="icon">: a browser
    then asks for no /favicon.ico (about 170 bytes in the page instead of a 550-byte request)."""
    svg = (WEB_DIR / "static" / "icon-1.svg").read_text().strip()
    return "data:image/svg+xml," + quote(svg, safe=" =:/-.")  # nothing left for HTML to escape


# What `obj.name` finds on a plain dict as an attribute (its methods): jinja2 tries the attribute
# first and only then the key, so every `row.title` of a dict row raised and caught an
# AttributeError (a fifth of the time of drawing a public page of 50 rows).
DICT_ATTRIBUTES = frozenset(dir(dict))


def install_dict_lookup(env: Environment) -> None:
    """`obj.name` on a plain dict is its key at once when no dict attribute has that name: the
    same answer as jinja2's getattr (attribute first, then key, else undefined), without the
    exception."""
    general = env.getattr

    def getattr_(obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return env.undefined(obj=obj, name=attribute)
        return general(obj, attribute)

    env.getattr = getattr_  # type: ignore[method-assign]


def install_offline_files(app: FastAPI) -> None:
    """The installable web app's files, at the root: /sw.js (a service worker controls only the
    paths under its own, so it must be served from /; never cached, so a new one is seen at once)
    and /manifest.webmanifest. They carry the answer headers of every page (web/security.py)."""
    static = WEB_DIR / "static"

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        return FileResponse(static / "sw.js", media_type="text/javascript",
                            headers={"cache-control": "no-cache", "service-worker-allowed": "/"})

    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> Response:
        return FileResponse(static / "manifest-1.webmanifest", media_type="application/manifest+json",
                            headers={"cache-control": "public, max-age=86400"})


def install_bearer_scheme(app: FastAPI) -> None:
    """The OpenAPI document declares the bearer token (`Authorization: Bearer TOKEN`) and asks for it
    on every operation that needs a signed-in account (read from its dependencies, so a new route
    cannot be forgotten), so /docs can send one ("Authorize")."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearerToken": {"type": "http", "scheme": "bearer",
                            "description": "an API token from `tracker token create NAME`"}}
        from web.api import v1  # every operation of the schema is one of its routes

        secured = {(route.path_format, method.lower()) for route in v1.routes
                   if isinstance(route, APIRoute) and needs_account(route.dependant)
                   for method in route.methods or ()}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if (path, method) in secured:
                    operation["security"] = [{"bearerToken": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    """Errors become 4xx answers that say why (web/errors.py: one table, one JSON shape under
    /api/), as pages, fragments or JSON; never a 500 for bad input."""

    def answer(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 405:
            return method_not_allowed(request)
        found = described(exc, request)
        if found is None:  # an HTTP error of the server's own (5xx)
            status = getattr(exc, "status_code", 500)
            found = (status, "error", str(getattr(exc, "detail", "")), None, {})
        status, code, message, field, headers = found
        if is_api(request):
            return error_json(status, code, message, field, headers=headers or None)
        return error_page(request, status, code, message)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if is_api(request):
            return answer(request, exc)
        target = "/login?next=" + quote(request.url.path, safe="/")
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(NotModified)
    async def not_modified(request: Request, exc: NotModified) -> Response:
        return exc.response()

    for error in (CSRFError, DomainError, ReadModelTimeout, RequestValidationError,
                  StarletteHTTPException, UnboundEvent):
        app.add_exception_handler(error, answer)


# What sets OpenTelemetry up from the environment: FastAPI's own switch, or an exporter named.
TELEMETRY_ENV = ("FASTAPI_OTEL_AUTO_CONFIGURE", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER",
                 "OTEL_LOGS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT")


def telemetry_config(environ: Mapping[str, str]) -> dict[str, bool]:
    """FastAPI's own OpenTelemetry (a span, metrics and logs per request) when the environment
    sets OpenTelemetry up (TELEMETRY_ENV); otherwise off. Left on with nothing configured, it
    recorded nothing, yet asked the global providers whether one had appeared on every request:
    4 % of a command's CPU."""
    wanted = any(environ.get(name, "").strip().lower() not in ("", "false", "none")
                 for name in TELEMETRY_ENV)
    return {"tracing": wanted, "metrics": wanted, "logs": wanted}


def create_app(settings: Settings) -> FastAPI:
    """One application object per process, created at start-up and closed on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracker = build_application(settings)
        read_models = build_read_models(settings, tracker)
        app.state.tracker = tracker
        app.state.read_models = read_models
        app.state.sessions = build_sessions(settings, read_models)
        app.state.login_throttle = LoginThrottle(app.state.sessions)
        app.state.idempotency = build_idempotency(settings, read_models)
        app.state.photos = build_photos(settings, read_models)
        app.state.proofs = build_proofs(settings, read_models)
        app.state.subscriptions = build_subscriptions(settings, read_models)
        app.state.log_head_asker = AsyncLogHead(
            settings.database_url, tracker.recorder.max_notification_id_statement) \
            if is_postgres(settings.database_url) else None
        try:
            yield
        finally:
            if app.state.log_head_asker is not None:
                await app.state.log_head_asker.close()
            read_models.close()
            tracker.close()

    app = FastAPI(title="Justice and security dialogue tracker", lifespan=lifespan,
                  telemetry=telemetry_config(os.environ),
                  openapi_url="/openapi.json", docs_url=None,
                  swagger_ui_oauth2_redirect_url=None, dependencies=[Depends(csrf_protect)])
    app.router.route_class = QuickRoute  # (its own routes: /docs, /healthz, the favicon)

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> Response:
        """Swagger UI from this server's own copy (the files of the fastapi-swagger package), not
        from a CDN: it loads on a filtered link, and no third party learns who reads it. Its
        inline start-up script is allowed by its hash (a policy of its own)."""
        page = get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title}: API",
                                   swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger/favicon-32x32.png")
        page.headers["content-security-policy"] = inline_script_policy(bytes(page.body).decode())
        return page

    install_favicon(app)
    install_offline_files(app)
    install_bearer_scheme(app)

    app.state.settings = settings
    secret_key = settings.ensure_secret_key()

    templates = Jinja2Blocks(directory=str(WEB_DIR / "templates"))
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    templates.env.auto_reload = False  # no stat() of every template file on every render
    install_dict_lookup(templates.env)
    templates.env.globals["icon_uri"] = icon_uri()
    i18n.install(templates.env)
    app.state.templates = templates
    app.state.catalogues = i18n.load_catalogues()

    # Each add wraps the previous: idempotency keys innermost, then the body limit, then sessions
    # (the CSRF check and the pages read them), then compression, then the answer headers
    # outermost (every answer, refusals included).
    app.add_middleware(IdempotencyKeys)  # innermost: a command given again answers as the first time
    app.add_middleware(BodyLimit)  # a refused body never reaches sessions or routes
    app.add_middleware(ServerSessions, secret_key=secret_key,
                       lifetime=settings.session_lifetime_seconds)
    app.add_middleware(Compression)  # brotli, else gzip (web/compression.py)
    app.state.stopping = threading.Event()  # set by `tracker serve` on SIGTERM
    app.add_middleware(AnswerHeaders, stopping=app.state.stopping)
    install_error_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from web import account, admin, api, audit, auth, mail_pages, meetings, public, report, workspace

    app.include_router(api.v1)
    app.include_router(api.router)  # (after v1: the JSON 404 of any other path under /api)
    app.include_router(report.router)  # before public: /public/report.pdf
    app.include_router(public.router)
    app.include_router(audit.router)
    app.include_router(auth.router)
    app.include_router(workspace.router)
    app.include_router(meetings.router)
    app.include_router(admin.router)
    app.include_router(account.router)
    app.include_router(mail_pages.router)
    app.mount("/static/swagger", CachedStatic(directory=str(resources.files("fastapi_swagger.resources"))),
              name="swagger")
    app.mount("/static", CachedStatic(directory=str(WEB_DIR / "static"), strip_comments=True),
              name="static")
    return app
