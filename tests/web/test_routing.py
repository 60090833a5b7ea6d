"""Routes refuse a path by its fixed text before FastAPI's full match (web.routing): every
route of the app still takes its own paths and no other."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match

from web.app import create_app
from web.routing import QuickRoute, fixed_ends


@pytest.mark.parametrize(("template", "ends"), [
    ("/api/v1/commitments/{commitment_id}/progress", ("/api/v1/commitments/", "/progress")),
    ("/api/v1/commitments/{commitment_id}", ("/api/v1/commitments/", "")),
    ("/public/{slug}/commitments/{commitment_id}.json", ("/public/", ".json")),
    ("/healthz", ("/healthz", "")),
    ("/api/{path}", ("/api/", "")),
])
def test_the_fixed_text_around_a_route_s_parameters(template, ends):
    assert fixed_ends(template) == ends


def scope(path: str, method: str = "GET") -> dict:
    return {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}


def filled(template: str) -> str:
    """A path the template takes: each parameter given a value of its kind."""
    return re.sub(r"{[^}:]+(:[a-z]+)?}", lambda m: "1" if m[1] == ":int" else "x1", template)


def every_route(settings) -> list[APIRoute]:
    from web import account, admin, api, audit, auth, mail_pages, meetings, public, report, workspace

    routes = [r for r in create_app(settings).router.routes if isinstance(r, APIRoute)]
    for module in (api, report, public, audit, auth, workspace, meetings, admin, account, mail_pages):
        routes += [r for r in module.router.routes if isinstance(r, APIRoute)]
    routes += [r for r in api.v1.routes if isinstance(r, APIRoute)]
    return routes


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_every_route_takes_its_own_paths_and_refuses_others_by_their_fixed_text(settings):
    routes = every_route(settings)
    assert len(routes) > 80
    for route in routes:
        assert isinstance(route, QuickRoute), route.path  # every router uses the class
        path = filled(route.path_format)
        method = sorted(route.methods or {"GET"})[0]
        assert route.matches(scope(path, method))[0] == Match.FULL, path
        assert route.matches(scope(path, "PATCH"))[0] in (Match.PARTIAL, Match.FULL), path
        assert route.matches(scope("/elsewhere" + path, method))[0] == Match.NONE, path
        assert route.matches(scope(path + "/more", method))[0] == Match.NONE or \
            route.path_format.endswith(":path}"), path
        if "{" in route.path_format:  # the full match still decides between the fixed ends
            head, tail = fixed_ends(route.path_format)
            assert route.matches(scope(head + "a/b/c" + tail, method))[0] == Match.NONE or \
                ":path}" in route.path_format, path


def test_the_api_and_the_pages_answer_as_before_through_the_quick_routes(site):
    """A path of each kind: an API record, an API 404 under /api, a page, a method refused."""
    anonymous = site.client("anonymous")
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/api/v1/nothing/here").status_code == 404
    assert anonymous.get("/api/v1/nothing/here").json()["error"]["code"] == "not_found"
    assert anonymous.get("/public").status_code == 200
    assert anonymous.delete("/public").status_code == 405
