"""openapi.yaml against the running daemon, checked by schemathesis: every operation,
with generated parameters (valid and invalid), answers as the document says."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.status.helpers import (
    TOKEN,
    auth,
    calls_file,
    replay_pbx,
    running,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.slow

SPEC = Path(__file__).parents[2] / "openapi.yaml"
EXAMPLES = 10
# Not `positive_data_acceptance`: a cursor is opaque, so a schema-valid made-up one
# is rightly refused with 400 bad_cursor.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def test_running_server_matches_openapi(tmp_path: Path) -> None:
    """For each of the 14 operations of openapi.yaml, up to 10 schema-valid and 10
    schema-invalid generated requests (bearer token set, against a daemon that has
    stored calls and texts) get no 5xx,
    a documented status code and content type, headers and a body that validate
    against the documented schema; schema-invalid parameters are refused with 4xx."""
    config, port = write_config(tmp_path, replay_pbx(calls_file(tmp_path, 5)))
    schema = schemathesis.openapi.from_path(SPEC)
    with running(config, port) as (_, http):
        wait_for(lambda: len(http.get("/v1/calls", headers=auth()).json()["items"]) == 5)
        base = f"http://127.0.0.1:{port}"
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        assert len(operations) == 14
        modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
        for operation, mode in itertools.product(operations, modes):
            if mode is modes[1] and not (len(operation.query) or len(operation.path_parameters)):
                continue  # nothing to make invalid

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
            @hypothesis.given(case=operation.as_strategy(mode))
            def check(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(
                    base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS
                )

            check()
