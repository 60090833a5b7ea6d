"""Routes that refuse a path at a glance before FastAPI's full match.

FastAPI (0.165) finds a request's route by trying every route in order, each with a regular
expression, once more for each level of inclusion (to choose the included router, then to
handle it): a read of a commitment tried about 80 routes, a public page every API route
first, a fifth of a cached read's time. A route's path begins and ends with fixed text
(`/api/v1/commitments/` and `/progress` around `{commitment_id}`): a path that does not begin
and end with this route's is refused by two string comparisons, and only the others meet the
regular expression, as before. Every router of the app uses this class; none is included
under an extra prefix (the fixed text is the route's own path)."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match, get_route_path
from starlette.types import Scope


def fixed_ends(path: str) -> tuple[str, str]:
    """The fixed text a path template begins and ends with: ('/a/', '/b') for '/a/{x}/b';
    the whole path and '' when it has no parameter."""
    first = path.find("{")
    if first < 0:
        return path, ""
    return path[:first], path[path.rfind("}") + 1:]


class QuickRoute(APIRoute):
    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self._head, self._tail = fixed_ends(self.path_format)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = get_route_path(scope)
            if not (path.startswith(self._head) and path.endswith(self._tail)):
                return Match.NONE, {}
        return super().matches(scope)
