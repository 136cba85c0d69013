"""The face studio's app: `create_app` (the body limits, readable 422s, the face routes, the routers of
`controls`, `photo` and `web`, and the built Vue page), and `run`, in one process or in uvicorn workers."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from dcgan import resources, sampling
from dcgan.errors import ConfigError
from dcgan.images import png_bytes
from dcgan.inversion.refine import CHUNK
from dcgan.inversion.runtime import has_encoder
from dcgan.serving.controls import controls_router
from dcgan.serving.errors import describe, problems
from dcgan.serving.limits import MAX_BODY_BYTES, MAX_SIDE, MAX_UPLOAD_BYTES
from dcgan.serving.photo import photo_router
from dcgan.serving.schemas import ArithmeticRequest, GenerateRequest, InterpolateRequest, marked
from dcgan.serving.studio import Studio, data_url
from dcgan.serving.web import web_router
from dcgan.z import clip_z, outside, rescale_z, seeded_z

WEB_DIST = resources.web_dist()  # None when the page is not built


def create_app(
    model_dirs: list[Path], web_dir: Path | None = WEB_DIST, cors_origins: list[str] | None = None
) -> FastAPI:
    studio = Studio([Path(d) for d in model_dirs])

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        studio.restart()
        tasks = [asyncio.create_task(b.run()) for b in studio.batchers.values()]
        for model in studio.models.values():  # trace the graph and find the page's Reset z before the first request
            model.reset_z()
            if has_encoder(model.model_dir):  # load and trace the inverter, so a first photo is as fast as the next
                model.inverter.invert(np.zeros((1, *model.image_shape), np.uint8), steps=CHUNK)
        yield
        for task in tasks:
            task.cancel()
        studio.executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPIOffline(  # FastAPI whose /docs and /redoc use files it ships instead of a CDN (work offline)
        title="dcgan face studio",
        version="1",
        lifespan=lifespan,
        description="Turn DCGAN noise vectors z into faces. The z contract of each model is in /api/models.",
    )
    app.state.studio = studio

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = studio.document(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi
    if cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST"], allow_headers=["content-type"]
        )

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        limit = MAX_UPLOAD_BYTES if request.url.path == "/api/invert" else MAX_BODY_BYTES
        if length is not None and (not length.isdigit() or int(length) > limit):
            return JSONResponse({"detail": f"request body over {limit:,} bytes"}, status_code=413)
        if request.method == "POST" and length is None:
            return JSONResponse({"detail": "a Content-Length header is required"}, status_code=411)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def readable_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": describe(exc.errors())}, status_code=422)

    async def faces(name: str, z: np.ndarray) -> np.ndarray:
        return await studio.batchers[name].generate(z)

    @app.get("/api/health")
    async def health() -> dict:
        return {"status": "ok", "models": list(studio.models)}

    @app.get("/api/models")
    async def models() -> dict:
        return studio.info()

    @app.post(
        "/api/generate",
        responses={200: {"content": {"image/png": {}, "application/json": {}}}, **problems(400, 404, 411, 413, 422)},
    )
    async def generate(body: GenerateRequest):
        name, model = studio.model(body.model)
        z = studio.check_z(model, body.z)
        if model.config.image_size * body.scale > MAX_SIDE:
            raise HTTPException(422, f"scale {body.scale} makes images over {MAX_SIDE} px")
        single = not isinstance(body.z[0], list) if body.z else True
        started = time.perf_counter()
        images = await faces(name, z)
        fmt = body.format or ("png" if single else "json")
        if fmt == "png":
            if len(images) != 1:
                raise HTTPException(422, "format png returns one image: send a single z or use format json")
            return Response(
                png_bytes(images[0], body.scale, body.resample),
                media_type="image/png",
                headers={"X-Generate-Ms": f"{1000 * (time.perf_counter() - started):.1f}"},
            )
        return {"images": [data_url(i, body.scale, body.resample) for i in images], "z": z.tolist()}

    @app.get("/api/random", responses=problems(404, 422))
    async def random(
        seed: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,
        truncation: Annotated[
            float | None,
            Query(gt=0, le=1, description="pull z toward the prior's centre: 1 = variety, lower = realism"),
        ] = None,
        model: Annotated[
            str | None, marked("model", query=True, description="a loaded model (default: the first)")
        ] = None,
    ) -> dict:
        name, generator = studio.model(model)
        seed = int(np.random.default_rng().integers(2**31)) if seed is None else seed
        psi = generator.default_truncation if truncation is None else truncation
        z = seeded_z(generator.z_contract, seed, psi)[None]  # the page's local engine draws the same z
        images = await faces(name, z)
        return {"seed": seed, "truncation": psi, "model": name, "z": z[0].tolist(), "image": data_url(images[0])}

    @app.post("/api/interpolate", responses=problems(400, 404, 411, 413, 422))
    async def interpolate(body: InterpolateRequest) -> dict:
        name, model = studio.model(body.model)
        a, b = studio.check_z(model, body.a, "a")[0], studio.check_z(model, body.b, "b")[0]
        z = sampling.interpolate(a, b, body.steps, body.method)
        z = clip_z(model.z_contract, z)  # slerp can bulge past the range
        images = await faces(name, z)
        return {"z": z.tolist(), "images": [data_url(i) for i in images]}

    @app.post("/api/arithmetic", responses=problems(400, 404, 411, 413, 422))
    async def arithmetic(body: ArithmeticRequest) -> dict:
        name, model = studio.model(body.model)
        a, b, c = (studio.check_z(model, v, k) for k, v in (("a", body.a), ("b", body.b), ("c", body.c)))
        z = sampling.arithmetic(a, b, c)
        if body.fit == "clip":
            clipped, shrink = int(outside(model.z_contract, z).sum()), 1.0
            z = clip_z(model.z_contract, z)
        else:
            clipped, (z, shrink) = 0, rescale_z(model.z_contract, z)
        images = await faces(name, z[None])
        return {"z": z.tolist(), "image": data_url(images[0]), "fit": body.fit, "clipped": clipped, "shrink": shrink}

    app.include_router(controls_router(studio, data_url))
    app.include_router(photo_router(studio, data_url))
    app.include_router(web_router(studio))

    if web_dir is not None and (Path(web_dir) / "index.html").exists():
        app.mount("/", StaticFiles(directory=web_dir, html=True), name="web")
    else:

        @app.get("/", response_class=HTMLResponse)
        async def no_page() -> str:
            return (
                "<h1>dcgan face studio</h1><p>The web page is not built: run <code>npm ci && npm run build"
                "</code> in <code>web/</code>. The API is at <a href='/docs'>/docs</a>.</p>"
            )

    return app


SERVE_ENV = "DCGAN_SERVE"  # JSON settings handed to each uvicorn worker process


def app_from_env() -> FastAPI:
    """App factory for uvicorn's worker processes: settings come from $DCGAN_SERVE (JSON), set by `run`."""
    settings = json.loads(os.environ[SERVE_ENV])
    threads = settings.get("threads")
    if threads:  # share the cores between workers instead of every worker using all of them
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return create_app([Path(d) for d in settings["models"]], cors_origins=settings.get("cors"))


def run(
    model_dirs: list[Path],
    host: str = "127.0.0.1",
    port: int = 8000,
    cors_origins: list[str] | None = None,
    workers: int = 1,
) -> None:
    """Serve in this process, or in `workers` uvicorn worker processes that share the port.

    Each worker loads its own copy of the models and keeps no state between requests, so workers
    (or replicas on several hosts behind a load balancer) are interchangeable.
    """
    import uvicorn

    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        app = create_app(model_dirs, cors_origins=cors_origins)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    os.environ[SERVE_ENV] = json.dumps(
        {"models": [str(Path(d).resolve()) for d in model_dirs], "cors": cors_origins, "threads": threads}
    )
    uvicorn.run("dcgan.serving.app:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="info")
