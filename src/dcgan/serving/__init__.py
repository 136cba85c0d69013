"""The face studio's server (FastAPI) and the built Vue page: `app` (the app, its checks and batching), and the
routers it includes, `controls`, `photo` and `web`."""

from dcgan.serving.app import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_UPLOAD_BYTES,
    Studio,
    app_from_env,
    create_app,
    models_info,
    run,
)

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
