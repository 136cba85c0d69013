"""Where the built web page and the shipped face model are, in a wheel or a source checkout.

A wheel carries both inside the package, in `dcgan/_assets/` (copied there by setup.py's build step from
`web/dist` and `models/celeba64`); a source checkout (or an editable install) has them at its root.
"""

from __future__ import annotations

from pathlib import Path

from dcgan.errors import ModelError

PACKAGE = Path(__file__).resolve().parent
ASSETS = PACKAGE / "_assets"  # in a wheel: ASSETS/web, ASSETS/models/celeba64
DEFAULT_MODEL_NAME = "celeba64"


def checkout_root() -> Path | None:
    """The source checkout this package runs from (ROOT/src/dcgan, beside ROOT/pyproject.toml), if it does."""
    root = PACKAGE.parent.parent
    return root if PACKAGE.parent.name == "src" and (root / "pyproject.toml").is_file() else None


def candidates(packaged: str, in_checkout: str) -> list[Path]:
    """The places to look for a resource: the wheel's copy first, then the source checkout's."""
    root = checkout_root()
    return [ASSETS / packaged, *([root / in_checkout] if root else [])]


def web_dist() -> Path | None:
    """The built page (a folder with index.html), or None when it is not built (`npm run build` in web/)."""
    return next((p for p in candidates("web", "web/dist") if (p / "index.html").is_file()), None)


def default_model() -> Path:
    """The shipped model bundle (models/celeba64); ModelError says where to get one when it is missing."""
    name = f"models/{DEFAULT_MODEL_NAME}"
    found = next((p for p in candidates(name, name) if (p / "model.json").is_file()), None)
    if found is None:
        raise ModelError(
            f"the shipped model ({name}) is not installed with this copy of dcgan: it is in the source "
            "repository's models/ folder and in the wheels built from it; or give --model DIR (a bundle "
            "made by `dcgan export RUN_DIR --out DIR`)"
        )
    return found
