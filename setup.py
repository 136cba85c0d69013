"""Build step that pyproject.toml cannot declare: the wheel carries the built web page and the shipped model.

`build_py` copies `web/dist` (when built: `npm ci && npm run build` in web/) and `models/celeba64` into the
package as `dcgan/_assets/web` and `dcgan/_assets/models/celeba64`, where `dcgan.resources` finds them.
Everything else (metadata, dependencies, packages) is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
ASSETS = {"web/dist": "web", "models/celeba64": "models/celeba64"}  # source folder → folder in dcgan/_assets


class BuildWithAssets(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install finds them in the checkout
            return
        for source, target in ASSETS.items():
            if (ROOT / source).is_dir():
                destination = Path(self.build_lib) / "dcgan" / "_assets" / target
                shutil.rmtree(destination, ignore_errors=True)
                shutil.copytree(ROOT / source, destination)


setup(cmdclass={"build_py": BuildWithAssets})
