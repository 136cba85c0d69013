"""The loaded models (`Studio`): their batchers, the request checks every route shares, the OpenAPI schema filled
in from the models, and what /api/models says about each model (`models_info`)."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import HTTPException

from dcgan import provenance
from dcgan.bundle import FaceGenerator, load_generator
from dcgan.controls.runtime import AGE, MAX_AMOUNT, MAX_PARENTS
from dcgan.errors import DcganError, ModelError
from dcgan.images import png_bytes
from dcgan.inversion.runtime import has_encoder
from dcgan.serving.batcher import MicroBatcher
from dcgan.serving.limits import MAX_BATCH, MAX_SIDE
from dcgan.serving.schemas import MARK
from dcgan.web_export import ONNX_FILE, web_entry, web_export_info
from dcgan.z import check_z, json_schema


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
