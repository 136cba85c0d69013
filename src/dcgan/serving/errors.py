"""How the server's 4xx answers are documented (`Problem`, `problems`) and how validation errors become one
readable line (`describe`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dcgan.serving.limits import MAX_BATCH, MAX_BODY_BYTES


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
