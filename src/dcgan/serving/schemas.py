"""The JSON request bodies of the face routes, and the pieces every request model is made of: `Strict` (no
unknown fields), `Vector` (JSON numbers only), and `marked` fields whose OpenAPI schema `Studio.document` fills in
from the loaded models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictFloat, Tag

from dcgan.serving.limits import MAX_BATCH, MAX_SIDE

Vector = list[StrictFloat]  # JSON numbers only: "0.5" and true are refused, not converted


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
