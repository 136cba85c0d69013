"""The OpenAPI contract matches the server: schemathesis runs every check on valid and invalid requests made from
the schema, in-process (ASGI, no network), against an app serving the shipped model.

The schema is loaded at import, as schemathesis expects: its lazy `from_fixture` loader fails under pytest 9
(`request.node._nodeid`), so the app serves the shipped model rather than the tiny model of a fixture.
"""

from __future__ import annotations

import schemathesis
from schemathesis.config import SchemathesisConfig

from dcgan import resources
from dcgan.serving import create_app

CONFIG = {
    "seed": 1,  # the same requests every run
    "generation": {"max-examples": 12, "mode": "all"},  # valid and invalid requests
    # all checks; invalid requests must get one of the documented refusals
    "checks": {"enabled": True, "negative_data_rejection": {"expected-statuses": ["400", "404", "413", "415", "422"]}},
    # a schema-valid photo is any bytes: whether they are an image with a face is content, not schema
    "operations": [
        # the coverage phase's boundary cases of these two are batches of up to 64 faces solved per face (refine.py):
        # 135 s and 50 s of this file's 4 min; their valid and invalid requests still come from the other phases
        {"include-path-regex": "^/api/(edit|children)$", "phases": {"coverage": {"enabled": False}}},
        {
            "include-path": "/api/invert",
            "checks": {"positive_data_acceptance": {"expected-statuses": ["200", "404", "413", "415", "422", "429"]}},
        },
    ],
}

app = create_app([resources.default_model()], web_dir=None)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))


@schema.parametrize()
def test_api_matches_its_schema(case) -> None:
    case.call_and_validate()
