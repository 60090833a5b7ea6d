"""The FastAPI app factory: builds the application service and the read models in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tracker.bootstrap import build_application
from tracker.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """One application object per process, created at start-up and closed on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from tracker.bootstrap import build_read_models

        tracker = build_application(settings)
        read_models = build_read_models(settings, tracker)
        app.state.tracker = tracker
        app.state.read_models = read_models
        try:
            yield
        finally:
            read_models.close()
            tracker.close()

    app = FastAPI(title="Justice and security dialogue tracker", lifespan=lifespan,
                  openapi_url="/openapi.json", docs_url="/docs")
    app.state.settings = settings
    settings.ensure_secret_key()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
