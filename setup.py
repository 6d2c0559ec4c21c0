"""Package mapping: the top-level folders install under the ``iclr`` namespace.

``cli/``, ``methods/``, ``data/`` and ``conf/`` become ``iclr.cli``, ``iclr.methods``, ``iclr.data``
and ``iclr.conf`` so that generic names never squat site-packages. Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup

HERE = Path(__file__).parent


def _mapped(root: str, finder) -> dict[str, str]:
    subpackages = finder(str(HERE / root))
    names = [root, *(f"{root}.{name}" for name in subpackages)]
    return {f"iclr.{name}": name.replace(".", "/") for name in names}


# conf/ holds YAML only (namespace folders); data/ may also hold downloaded datasets under the
# default data root, so only real Python packages (with __init__.py) are taken from it.
package_dir = {
    **_mapped("cli", find_packages),
    **_mapped("methods", find_packages),
    **_mapped("data", find_packages),
    **_mapped("conf", find_namespace_packages),
    # Hydra instantiates plugins only from its ``hydra_plugins`` namespace (table sweeper).
    "hydra_plugins.iclr_sweeper": "cli/hydra_plugins/iclr_sweeper",
}

setup(
    packages=sorted(package_dir),
    package_dir=package_dir,
    package_data={"iclr.conf": ["**/*.yaml"], "iclr.data": ["sources/*.yaml"]},
    include_package_data=False,
)
