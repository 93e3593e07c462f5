"""Schemathesis over the whole OpenAPI spec, with a shop token and a staff (admin) token.

Every operation gets a bounded number of generated requests (valid ones, and invalid ones
built from the spec: wrong types, values out of range, missing fields). A response must
never be a 5xx, must be a status the operation documents, with the documented content type,
and must match its own schema. Failures are collected per check and listed together, so
one run shows all of them.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.http import api_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))


def fuzz(app, headers: dict, examples: int = EXAMPLES) -> tuple[Counter, dict[str, list[str]]]:
    """(requests run per operation kind, failure descriptions per check)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", app, headers=headers)
    runs, failures = Counter(), defaultdict(list)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                response = case.call(headers=headers)
                runs["cases"] += 1
                for check in CHECKS:
                    try:
                        case.validate_response(response, checks=[check], headers=headers)
                    except (AssertionError, BaseExceptionGroup) as failure:
                        found = getattr(failure, "exceptions", None) or [failure]
                        text = "; ".join(f"{type(f).__name__}: {getattr(f, 'title', '')} "
                                         f"{str(f).strip()[:240]}" for f in found)
                        failures[check.__name__].append(
                            f"{case.method} {case.formatted_path} {repr(case.body)[:300]} "
                            f"-> {response.status_code}: {text}")

            try:
                run()
            except Unsatisfiable:  # nothing to vary (no parameters, or none to break)
                pass
            except Exception as exc:  # the fuzzer could not build a request: not the API's fault
                runs[f"not generated: {operation.label}: {type(exc).__name__}"] += 1
    return runs, failures


@pytest.mark.parametrize("role", ["Shop", "Admin"])
def test_no_server_error_and_no_answer_outside_its_schema(app, client, make, role):
    make.article(article_no="A-1")
    make.address(email="kundin@example.org")
    make.user("fuzzer", role)
    runs, failures = fuzz(app, api_token(client, "fuzzer"))
    print(dict(runs))
    assert runs["cases"] > 100
    report = "\n".join(f"{check} ({len(found)}):\n  " + "\n  ".join(sorted(set(found))[:20])
                       for check, found in failures.items())
    assert not failures, f"{runs['cases']} cases; failures by check:\n{report}"
