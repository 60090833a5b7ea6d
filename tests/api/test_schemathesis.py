"""Bad input never makes a 500: schemathesis throws generated requests at every API operation.

Cases follow the schema (positive) and break it (negative); path parameters are random or name real
records (so that requests reach the application service, not only the 404); calls go as an admin,
as a member and anonymously. Every answer must be a non-5xx that the OpenAPI schema documents, with
the declared content type and a body that fits the declared schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import advance, propose

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = 25  # per operation (across modes, path kinds and callers); the run takes ~10 s


def sendable(files):
    """Generated multipart parts as httpx can send them: a part that breaks the schema may be a
    number or null where a file goes, which a real client would send as its text."""
    def as_bytes(value):
        return value if isinstance(value, bytes | str) else str(value).encode()

    items = files.items() if isinstance(files, dict) else files
    return [(name, (value[0], as_bytes(value[1]), *value[2:]) if isinstance(value, tuple)
             else as_bytes(value)) for name, value in items]


def real_path_parameters(tracker, world):
    commitment = propose(tracker, world).id
    advance(tracker, world, commitment, "in_progress")
    case = tracker.raise_case(world.members["police"], world.slug, title="Break-ins",
                              category="theft_burglary").id
    return {"slug": world.slug, "commitment_id": commitment, "case_id": case}


def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(
        client, tracker_of, world_people, store_url):
    if not store_url.startswith("sqlite"):
        pytest.skip("the fuzzing run is backend-independent; it runs on SQLite only")
    world, people = world_people
    real = real_path_parameters(tracker_of, world)
    client.app.state.read_models.catch_up()
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    auth = st.sampled_from([people("admin"), people("police"), {}])

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        known = {name: real[name] for name in names if name in real}
        strategies = [operation.as_strategy(generation_mode=mode)
                      for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if known:
            strategies.append(operation.as_strategy(path_parameters=known))

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(strategies), headers=auth)
        def check(case, headers):
            prepared = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
            kwargs = {key: prepared[key] for key in ("params", "headers", "json")
                      if prepared.get(key) is not None}
            if prepared.get("files") is not None:
                kwargs["files"] = sendable(prepared["files"])
            data = prepared.get("data")
            if isinstance(data, dict):
                kwargs["data"] = data
            elif data is not None:
                kwargs["content"] = data
            response = client.request(prepared["method"], prepared["url"], **kwargs)
            case.validate_response(response, checks=CHECKS)

        check()
