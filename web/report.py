"""Printable reports (PDF, made on the server with WeasyPrint) for donors who report on paper.

One per dialogue (`/public/dialogues/{slug}/report.pdf`) and one for the programme
(`/public/report.pdf`): the same public figures as the pages (the status chart, the completions by
month, the party scorecards, each commitment's state and latest public change) and the ledger head
and signed checkpoint they were made from, in the reader's language, Arabic right to left. The
HTML is rendered from `report.html` with the page's context, then laid out by WeasyPrint with the
Noto or DejaVu fonts installed by the Makefile (they carry Arabic glyphs).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from web.deps import FreshReadModelsDep, TrackerDep, page_context
from web.public import (
    _public_dialogue,
    all_rows,
    programme_context,
    public_ledger,
    revalidated,
    status_chart,
    summary,
)
from web.routing import QuickRoute

router = APIRouter(route_class=QuickRoute, prefix="/public", tags=["public"], include_in_schema=False)

LATEST_CHANGES = 200  # commitments whose latest public change the report names


def pdf_of(request: Request, context: dict[str, Any]) -> bytes:
    """The report template rendered in the reader's language, laid out as a PDF."""
    from weasyprint import HTML  # a heavy import, only when a report is asked for

    env = request.app.state.templates.env
    html = env.get_template("report.html").render({**page_context(request), **context})
    return HTML(string=html, base_url=str(request.base_url)).write_pdf()


def _answer(pdf: bytes, name: str, headers: dict[str, str]) -> Response:
    return Response(pdf, media_type="application/pdf", headers={
        **headers, "Content-Disposition": f'inline; filename="{name}"'})


@router.get("/dialogues/{slug}/report.pdf")
def dialogue_report(request: Request, slug: str, read_models: FreshReadModelsDep,
                    tracker: TrackerDep) -> Response:
    public = read_models.public
    dialogue = _public_dialogue(read_models, slug)
    ledger = public_ledger(public)
    found = revalidated(request, tracker, ledger, personal=True)
    today = tracker.today()
    figures = summary(request, public, dialogue["id"], ledger["position"], today)
    rows = all_rows(request, public, dialogue["id"], ledger["position"], today)
    latest = {row["id"]: (public.timeline(row["id"]) or [None])[-1] for row in rows[:LATEST_CHANGES]}
    pdf = pdf_of(request, {
        "dialogue": dialogue, "ledger": ledger, "commitments": rows, "latest": latest,
        "status_chart": status_chart(dialogue["counts"]), "overdue": figures.overdue,
        "completion_chart": figures.completion_chart, "scorecards": figures.scorecards,
        "today": today})
    return _answer(pdf, f"report-{dialogue['slug']}.pdf", found.headers())


@router.get("/report.pdf")
def programme_report(request: Request, read_models: FreshReadModelsDep, tracker: TrackerDep,
                     country: Annotated[str | None, Query(max_length=2)] = None) -> Response:
    ledger = public_ledger(read_models.public)
    found = revalidated(request, tracker, ledger, personal=True)
    pdf = pdf_of(request, {**programme_context(read_models.public, tracker.today(), country),
                           "ledger": ledger, "today": tracker.today()})
    return _answer(pdf, "report-programme.pdf", found.headers())
