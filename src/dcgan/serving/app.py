"""The face studio's HTTP API (FastAPI) and the built Vue page, served together."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictFloat, Tag

from dcgan import provenance, resources, sampling
from dcgan.bundle import FaceGenerator, load_generator
from dcgan.controls.runtime import AGE, MAX_AMOUNT, MAX_PARENTS
from dcgan.errors import ConfigError, DcganError, ModelError
from dcgan.images import png_bytes
from dcgan.inversion.refine import CHUNK
from dcgan.inversion.runtime import has_encoder
from dcgan.photos import MAX_PHOTO_BYTES
from dcgan.web_export import ONNX_FILE, web_entry, web_export_info
from dcgan.z import check_z, clip_z, json_schema, outside, rescale_z, seeded_z

WEB_DIST = resources.web_dist()  # None when the page is not built
MAX_BATCH = 64
MAX_BODY_BYTES = 1_000_000
MAX_SIDE = 512
MAX_UPLOAD_BYTES = MAX_PHOTO_BYTES + 64 * 1024  # POST /api/invert: the photo and the form around it

Vector = list[StrictFloat]  # JSON numbers only: "0.5" and true are refused, not converted


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """The body of every 4xx answer."""

    detail: str = Field(description="what was wrong with the request")


PROBLEMS = {
    400: "body that cannot be read as text (not UTF-8)",
    404: "unknown model",
    411: "no Content-Length header",
    413: f"body over {MAX_BODY_BYTES} bytes (a photo: over its limit), or over {MAX_BATCH} z",
    415: "not a multipart form, or a photo that is not a readable image",
    422: "invalid request: the detail says what and where",
    429: "too many photos waiting to be inverted",
    503: "this install cannot find faces in photos (the `photo` extra is missing)",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route."""
    return {code: {"model": Problem, "description": PROBLEMS[code]} for code in codes}


def z_form(value: Any) -> str:
    """Which form of z a request holds: a batch when its first item is a list (the union tags contain spaces so
    that `describe` leaves them out of error locations)."""
    return "batch of z" if isinstance(value, list) and value and isinstance(value[0], list) else "one z"


# Schema marks: the OpenAPI schema's nodes that `Studio.document` fills in from the loaded models
MARK = "x-dcgan"


Mark = Literal["z", "z batch", "z or batch", "model", "name", "scale", "parents", "moves", "hold", "constraints"]


def marked(what: Mark, query: bool = False, **field: Any) -> Any:
    """A pydantic Field (a FastAPI Query with `query`) whose OpenAPI schema `Studio.document` fills in."""
    return (Query if query else Field)(**field, json_schema_extra={MARK: what})


ZOrBatch = Annotated[
    Annotated[Vector, Tag("one z")] | Annotated[list[Vector], Tag("batch of z")], Discriminator(z_form)
]


class GenerateRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={  # format png returns one image: a single z or a batch of one
            "anyOf": [
                {"properties": {"format": {"enum": ["json", None]}}},
                {"properties": {"z": {"items": {"type": "number"}}}},
                {"properties": {"z": {"maxItems": 1}}},
            ]
        }
    )
    model: str | None = marked("model", default=None, description="a loaded model (default: the first)")
    z: ZOrBatch = marked("z or batch", description="one z vector, or a batch of them")
    scale: int = marked(
        "scale", default=1, ge=1, le=8, description=f"upscale factor; output side at most {MAX_SIDE} px"
    )
    resample: Literal["nearest", "lanczos"] = "nearest"
    format: Literal["png", "json"] | None = Field(None, description="default: png for one z, json for a batch")


class InterpolateRequest(Strict):
    model: str | None = marked("model", default=None, description="a loaded model (default: the first)")
    a: Vector = marked("z")
    b: Vector = marked("z")
    steps: int = Field(8, ge=2, le=MAX_BATCH)
    method: Literal["linear", "spherical"] = "linear"


class ArithmeticRequest(Strict):
    model: str | None = marked("model", default=None, description="a loaded model (default: the first)")
    a: list[Vector] = marked("z batch", min_length=1, max_length=MAX_BATCH)
    b: list[Vector] = marked("z batch", min_length=1, max_length=MAX_BATCH)
    c: list[Vector] = marked("z batch", min_length=1, max_length=MAX_BATCH)
    fit: Literal["clip", "rescale"] = Field(
        "clip",
        description="how a result outside the prior's range is brought in: clip each value, or rescale the whole "
        "vector toward the prior's centre (keeps its direction)",
    )


def location(loc: tuple) -> str:
    """A pydantic error location as a path: ("body", "z", 3) → "z[3]", leaving out union tags such as
    "list[float]" (not identifiers)."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}" if path else part
    return path or "body"


def listed(places: list[str]) -> str:
    """["z[0]", "z[1]", "z[2]", "z[3]"] → "z[0], z[1] and 2 more"."""
    places = list(dict.fromkeys(places))
    if len(places) <= 3:
        return " and ".join([", ".join(places[:-1]), places[-1]]) if len(places) > 1 else places[0]
    return f"{places[0]}, {places[1]} and {len(places) - 2} more"


def describe(errors: list[dict]) -> str:
    """Validation errors as one line, each message once with the places it applies to."""
    places: dict[str, list[str]] = {}
    for error in errors:
        if error.get("type") == "json_invalid":
            where = "body"
            message = f"invalid JSON at character {error['loc'][-1]}: {error.get('ctx', {}).get('error', '')}"
        else:
            where, message = location(tuple(error.get("loc", ()))), error.get("msg", "invalid")
        places.setdefault(message, []).append(where)
    return "; ".join(f"{listed(where)}: {message}" for message, where in list(places.items())[:5])


@dataclass
class MicroBatcher:
    """Runs concurrent generate calls as one generator call (optionally waiting `window_s` for more)."""

    model: FaceGenerator
    executor: ThreadPoolExecutor
    window_s: float = 0.0
    max_batch: int = MAX_BATCH
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    async def generate(self, z: np.ndarray) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((z, future))
        return await future

    async def run(self) -> None:
        """Dynamic batching: take every request already waiting (plus any arriving within `window_s`).

        Under load, requests queue up while the generator runs, so batches grow with the load; a lone
        request never waits for a timer.
        """
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            await asyncio.sleep(0)  # let requests that are already parsed reach the queue
            size = len(items[0][0])
            deadline = loop.time() + self.window_s
            while size < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    if (timeout := deadline - loop.time()) <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self.queue.get(), timeout)
                    except TimeoutError:
                        break
                items.append(item)
                size += len(item[0])
            batch = np.concatenate([z for z, _ in items])
            try:
                images = await loop.run_in_executor(self.executor, self.model.generate, batch)
            except Exception as exc:  # hand the failure to every waiting request
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for z, future in items:
                if not future.done():
                    future.set_result(images[start : start + len(z)])
                start += len(z)


class Studio:
    """The loaded models, their batchers and the request checks."""

    def __init__(self, model_dirs: list[Path]) -> None:
        if not model_dirs:
            raise ModelError("no model to serve")
        self.models: dict[str, FaceGenerator] = {}
        for directory in model_dirs:
            name = Path(directory).resolve().name
            if name in self.models:
                raise ModelError(f"two models are named {name!r}; give them different folder names")
            self.models[name] = load_generator(directory)
        self.default = next(iter(self.models))
        self.restart()

    def restart(self) -> None:
        """A new generator thread and batchers, made at each startup of the app (a test client may start an app
        again after its shutdown stopped them)."""
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generator")
        self.batchers = {name: MicroBatcher(m, self.executor) for name, m in self.models.items()}

    def model(self, name: str | None) -> tuple[str, FaceGenerator]:
        name = name or self.default
        if name not in self.models:
            raise HTTPException(404, f"unknown model {name!r}; loaded: {', '.join(self.models)}")
        return name, self.models[name]

    def check_z(self, model: FaceGenerator, z: list, what: str = "z") -> np.ndarray:
        """`dcgan.z.check_z` (shape, finite, inside the prior's range) as HTTP errors: 422, or 413 past MAX_BATCH."""
        try:
            array = check_z(model.z_contract, z, what)
        except ModelError as exc:
            raise HTTPException(422, str(exc)) from None
        if len(array) > MAX_BATCH:
            raise HTTPException(413, f"{what} holds {len(array)} vectors; at most {MAX_BATCH} per request")
        return array

    def document(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The OpenAPI schema with its marked nodes (`marked`) filled in from the loaded models: their names, their z
        contracts (`dcgan.z.json_schema`; any one of them when the models differ) and the largest scale."""
        contracts = {json.dumps(m.z_contract, sort_keys=True): m.z_contract for m in self.models.values()}
        schemas = [json_schema(c) for c in contracts.values()]
        one = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        batch = {"type": "array", "items": one, "minItems": 1, "maxItems": MAX_BATCH}
        filled = {
            "z": one,
            "z batch": batch,
            "z or batch": {"anyOf": [one, batch]},
            "model": {"anyOf": [{"enum": list(self.models)}, {"type": "null"}]},
            "name": {"enum": list(self.models)},  # a model named in the path
            "scale": {"type": "integer", "minimum": 1, "maximum": self.max_scale()},
            "parents": {"type": "array", "items": one, "minItems": 2, "maxItems": MAX_PARENTS},
            **self.controls_schemas(),
        }

        def fill(node: Any) -> Any:
            if isinstance(node, list):
                return [fill(item) for item in node]
            if not isinstance(node, dict):
                return node
            if MARK in node:
                kept = {k: node[k] for k in ("title", "description", "default") if k in node}
                return {**kept, **filled[node[MARK]]}
            return {key: fill(value) for key, value in node.items()}

        return fill(schema)

    def controls_schemas(self) -> dict[str, dict]:
        """The named controls' request parts, from the models that have controls (see `dcgan.serving.controls`)."""
        names, attributes = set(), set()
        for model in self.models.values():
            try:
                names.update(c["name"] for c in model.directions())
                attributes.update(model.controls.directions.attributes)
            except DcganError:
                continue
        amount = {"type": "number", "minimum": -MAX_AMOUNT, "maximum": MAX_AMOUNT}
        binary = sorted(attributes - {AGE})
        age = {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 120}, "minItems": 2, "maxItems": 2}
        return {
            "moves": {
                "type": "object",
                "properties": {n: amount for n in sorted(names)},
                "additionalProperties": False,
            },
            "hold": {"anyOf": [{"type": "array", "items": {"enum": sorted(attributes)}}, {"type": "null"}]},
            "constraints": {
                "type": "object",
                "properties": {**{n: {"type": "boolean"} for n in binary}, **({AGE: age} if AGE in attributes else {})},
                "additionalProperties": False,
            },
        }

    def max_scale(self) -> int:
        """The largest upscale factor some loaded model allows (output side at most MAX_SIDE)."""
        return max(min(8, MAX_SIDE // m.config.image_size) for m in self.models.values())

    def info(self) -> dict:
        return models_info(self.models)


def model_info(name: str, m: FaceGenerator, web_url: str | None = None) -> dict:
    """One model's entry of /api/models (and of a static site's models.json, `dcgan.site`), with a `web` entry
    (`dcgan.web_export.web_entry`) when its bundle has a current browser export; `web_url`: where that file is
    (default: this server's route for it)."""
    web = web_export_info(m.model_dir)
    return {
        "name": name,
        "z": m.z_contract,
        "truncation": m.default_truncation,
        "reset_z": m.reset_z().tolist(),
        "image_size": m.config.image_size,
        "channels": m.config.channels,
        "provenance": m.info.get("provenance", {}),
        "summary": provenance.summary(m.info, m.model_dir),
        "photos": has_encoder(m.model_dir),  # POST /api/invert works for it
        **({"web": web_entry(web, web_url or f"/api/models/{name}/{ONNX_FILE}")} if web else {}),
    }


def models_info(models: dict[str, FaceGenerator], web_urls: dict[str, str] | None = None) -> dict:
    """What /api/models returns: the default (first) model and every model's `model_info`."""
    return {
        "default": next(iter(models)),
        "models": [model_info(name, m, (web_urls or {}).get(name)) for name, m in models.items()],
    }


def data_url(image: np.ndarray, scale: int = 1, resample: str = "nearest") -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image, scale, resample)).decode()


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

    from dcgan.serving.controls import controls_router  # it builds on this module's request types
    from dcgan.serving.photo import photo_router
    from dcgan.serving.web import web_router

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
