"""The FastAPI app factory (placeholder until the workspace lands)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from tracker.bootstrap import build_application
from tracker.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.tracker = build_application(settings)
        try:
            yield
        finally:
            app.state.tracker.close()

    app = FastAPI(title="Justice and security dialogue tracker", lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
