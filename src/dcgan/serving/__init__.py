"""The face studio's server (FastAPI) and the built Vue page, one module per concern:

- `app`: `create_app` (body limits, readable 422s, the face routes, the routers below, the page), `app_from_env`
  (uvicorn's worker factory) and `run`.
- `studio`: `Studio`, the loaded models with their batchers, the shared request checks and the OpenAPI schema
  filled in from the models; `models_info`, what /api/models says about each model; `data_url`.
- `batcher`: `MicroBatcher`, concurrent generate calls for one model as one generator call.
- `schemas`: the face routes' request bodies and their parts (`Strict`, `Vector`, fields `marked` for the schema).
- `errors`: the documented 4xx answers (`Problem`, `problems`) and validation errors as one line (`describe`).
- `limits`: the request limits (`MAX_BATCH`, `MAX_BODY_BYTES`, `MAX_SIDE`, `MAX_UPLOAD_BYTES`).
- `controls`: the named controls' routes (directions, edit, attributes, sample, children, cross).
- `photo`: POST /api/invert, a photo in, its z out, streamed as NDJSON.
- `web`: GET /api/models/{name}/generator.onnx, a model's generator for the browser.

Imports point one way: `app` uses the routers (`controls`, `photo`, `web`), they use `studio`, `schemas` and
`errors`, and `limits` is used by all; no module imports the package itself, which re-exports what other code uses.
"""

from dcgan.serving.app import app_from_env, create_app, run
from dcgan.serving.limits import MAX_BATCH, MAX_BODY_BYTES, MAX_UPLOAD_BYTES
from dcgan.serving.studio import Studio, models_info

__all__ = [
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "MAX_UPLOAD_BYTES",
    "Studio",
    "app_from_env",
    "create_app",
    "models_info",
    "run",
]
