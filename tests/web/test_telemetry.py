"""FastAPI's own OpenTelemetry is on only when the environment sets OpenTelemetry up
(web.app.telemetry_config): off, nothing is asked of the global providers on each request."""

from __future__ import annotations

import pytest

from web.app import telemetry_config

ON = {"tracing": True, "metrics": True, "logs": True}
OFF = {"tracing": False, "metrics": False, "logs": False}


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, OFF),
    ({"PATH": "/usr/bin", "OTEL_SERVICE_NAME": "tracker"}, OFF),  # a name alone exports nothing
    ({"FASTAPI_OTEL_AUTO_CONFIGURE": "true"}, ON),
    ({"FASTAPI_OTEL_AUTO_CONFIGURE": "false"}, OFF),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, ON),
    ({"OTEL_TRACES_EXPORTER": "none"}, OFF),
    ({"OTEL_METRICS_EXPORTER": "console"}, ON),
    ({"OTEL_LOGS_EXPORTER": "otlp"}, ON),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ON),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, OFF),
])
def test_fastapi_s_telemetry_follows_the_environment(environ, expected):
    assert telemetry_config(environ) == expected
