"""The HTTP API of the named controls (`dcgan.controls`): directions, edit, attributes, constrained sampling,
children and crossing. Included by `dcgan.serving.app.create_app`; every route answers a clear 4xx for bad input,
and 404 for a model whose bundle has no controls (`dcgan controls fit` makes them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import BeforeValidator, Field, StrictBool, StrictFloat

from dcgan.controls.runtime import MAX_AMOUNT, MAX_PARENTS, Controls
from dcgan.errors import DcganError
from dcgan.serving.errors import problems
from dcgan.serving.schemas import Strict, Vector, marked
from dcgan.serving.studio import Studio
from dcgan.z import check_truncation

MAX_FACES = 16


def json_integer(value: Any) -> Any:
    """JSON Schema's integer: a number with no fraction (7 or 7.0), never a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return value


Seed = Annotated[int, Field(ge=0, le=2**32 - 1), BeforeValidator(json_integer)]
Count = Annotated[int, Field(ge=1, le=MAX_FACES), BeforeValidator(json_integer)]
SEED = Field(None, description="seed for a reproducible answer")
MODEL = {"default": None, "description": "a loaded model (default: the first)"}


class EditRequest(Strict):
    model: str | None = marked("model", **MODEL)
    z: Vector = marked("z")
    moves: dict[str, StrictFloat] = marked("moves", description=f"direction → slider steps, each in ±{MAX_AMOUNT:g}")
    hold: list[str] | None = marked("hold", default=None, description="attributes kept still; null: all not moved")


class AttributesRequest(Strict):
    model: str | None = marked("model", **MODEL)
    z: Vector = marked("z")


class SampleRequest(Strict):
    model: str | None = marked("model", **MODEL)
    constraints: dict[str, StrictBool | list[StrictFloat]] = marked(
        "constraints", description='attribute → true/false, and "Age" → [low, high] years'
    )
    n: Count = 8
    seed: Seed | None = SEED
    truncation: StrictFloat | None = Field(None, gt=0, le=1)


class ChildrenRequest(Strict):
    model: str | None = marked("model", **MODEL)
    z: Vector = marked("z")
    n: Count = 6
    amount: StrictFloat = Field(0.3, gt=0, le=1, description="share of the prior's spread each child moves")
    lock: StrictBool = Field(True, description="identity lock: vary everything but who the face is")
    seed: Seed | None = SEED


class CrossRequest(Strict):
    model: str | None = marked("model", **MODEL)
    parents: list[Vector] = marked("parents", description=f"2 to {MAX_PARENTS} parents' z")
    n: Count = 6
    seed: Seed | None = SEED


NOT_FOUND = {404: {**problems(404)[404], "description": "unknown model, or a model with no named controls"}}


def rounded(attributes: dict[str, np.ndarray], i: int) -> dict[str, float]:
    return {k: round(float(v[i]), 4) for k, v in attributes.items()}


def controls_router(studio: Studio, data_url: Callable[[np.ndarray], str]) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["named controls"])

    def controls_of(name: str | None) -> tuple[str, Any, Controls]:
        name, model = studio.model(name)
        try:
            return name, model, model.controls
        except DcganError as exc:
            raise HTTPException(404, str(exc)) from None

    async def run(fn: Callable[[], Any]) -> Any:
        """Run model work on the generator's thread; a DcganError (bad names, amounts, ranges) is a 422."""
        try:
            return await asyncio.get_running_loop().run_in_executor(studio.executor, fn)
        except DcganError as exc:
            raise HTTPException(422, str(exc)) from None

    def faces(z: np.ndarray, images: np.ndarray, **extra: list) -> dict:
        return {
            "faces": [
                {"z": z[i].tolist(), "image": data_url(images[i]), **{k: v[i] for k, v in extra.items()}}
                for i in range(len(z))
            ]
        }

    @router.get("/directions", responses=NOT_FOUND | problems(422))
    async def directions(
        model: Annotated[
            str | None, marked("model", query=True, description="a loaded model (default: the first)")
        ] = None,
    ) -> dict:
        name, _, controls = controls_of(model)
        return {
            "model": name,
            "directions": controls.directions.controls(),
            "attributes": controls.directions.attributes,
        }

    @router.post("/edit", responses=NOT_FOUND | problems(400, 411, 413, 422))
    async def edit(body: EditRequest) -> dict:
        _, generator, controls = controls_of(body.model)
        z = studio.check_z(generator, body.z)[0]

        def work() -> dict:
            move = controls.edit(z, body.moves, body.hold)
            image = controls.generate(move.z[None])
            return {
                "z": move.z.tolist(),
                "image": data_url(image[0]),
                "clipped": round(float(move.lost[0]), 4),
                "saturated": int(move.saturated[0]),
                "attributes": rounded(controls.attributes(image), 0),
            }

        return await run(work)

    @router.post("/attributes", responses=NOT_FOUND | problems(400, 411, 413, 422))
    async def attributes(body: AttributesRequest) -> dict:
        _, generator, controls = controls_of(body.model)
        z = studio.check_z(generator, body.z)
        return {"attributes": await run(lambda: rounded(controls.attributes(controls.generate(z)), 0))}

    @router.post("/sample", responses=NOT_FOUND | problems(400, 411, 413, 422))
    async def sample(body: SampleRequest) -> dict:
        _, generator, controls = controls_of(body.model)
        psi = generator.default_truncation if body.truncation is None else check_truncation(body.truncation)

        def work() -> dict:
            found = controls.sample_where(body.constraints, body.n, body.seed, psi)
            images = controls.generate(found.z)
            extra = {
                "attributes": [rounded(found.attributes, i) for i in range(len(found.z))],
                "satisfied": [bool(s) for s in found.satisfied],
            }
            return {
                **faces(found.z, images, **extra),
                "satisfied": int(found.satisfied.sum()),
                "tried": found.tried,
                "ms": round(1000 * found.seconds, 1),
            }

        return await run(work)

    @router.post("/children", responses=NOT_FOUND | problems(400, 411, 413, 422))
    async def children(body: ChildrenRequest) -> dict:
        _, generator, controls = controls_of(body.model)
        z = studio.check_z(generator, body.z)[0]

        def work() -> dict:
            kids = controls.children(z, body.n, body.amount, body.lock, body.seed)
            return faces(kids, controls.generate(kids))

        return await run(work)

    @router.post("/cross", responses=NOT_FOUND | problems(400, 411, 413, 422))
    async def cross(body: CrossRequest) -> dict:
        _, generator, controls = controls_of(body.model)
        parents = studio.check_z(generator, body.parents, "parents")

        def work() -> dict:
            move = controls.cross(parents, body.n, None, body.seed)
            return faces(move.z, controls.generate(move.z), clipped=[round(float(v), 4) for v in move.lost])

        return await run(work)

    return router
