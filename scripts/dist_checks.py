"""Checks of the built artifacts and of the oldest supported releases.

``python -m scripts.dist_checks archives DIR`` checks the wheel and the sdist in DIR: both
carry the license, the wheel holds the package and its ``py.typed`` and nothing else, the
sdist holds what builds the wheel and leaves the tests out (they need the repository's
examples, benchmarks and the CDK CLI).

``python -m scripts.dist_checks floor`` checks that the running environment has exactly the
releases ``constraints/floor.txt`` pins, and that each pin is the lower bound
``pyproject.toml`` declares for that package.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FLOOR = ROOT / "constraints" / "floor.txt"
PACKAGE = "ecs_exec_roles"
# What the sdist may hold besides the package: what builds it, its license and description.
SDIST_FILES = {"LICENSE", "MANIFEST.in", "PKG-INFO", "README.md", "pyproject.toml", "setup.cfg"}


def wheel_problems(names: Sequence[str]) -> list[str]:
    """What is wrong with a wheel holding the files ``names``."""
    found = []
    dist_info = [n for n in names if n.split("/")[0].endswith(".dist-info")]
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in dist_info):
        found.append("the wheel has no dist-info/licenses/LICENSE")
    if f"{PACKAGE}/py.typed" not in names:
        found.append(f"the wheel has no {PACKAGE}/py.typed")
    others = sorted(set(names) - set(dist_info) - {n for n in names if n.startswith(PACKAGE + "/")})
    if others:
        found.append(f"the wheel holds files outside the package: {others}")
    return found


def sdist_problems(names: Sequence[str]) -> list[str]:
    """What is wrong with an sdist holding the files ``names`` (under its top directory)."""
    inside = sorted({n.split("/", 1)[1] for n in names if "/" in n})
    found = []
    if "LICENSE" not in inside:
        found.append("the sdist has no LICENSE")
    if f"src/{PACKAGE}/__init__.py" not in inside:
        found.append(f"the sdist has no src/{PACKAGE}/__init__.py")
    others = [
        n
        for n in inside
        if n not in SDIST_FILES and not n.startswith(("src/", f"src/{PACKAGE}.egg-info/"))
    ]
    if others:
        found.append(f"the sdist holds files beyond the package: {others}")
    return found


def archive_problems(directory: Path) -> list[str]:
    wheels = sorted(directory.glob("*.whl"))
    sdists = sorted(directory.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"expected one wheel and one sdist in {directory}, found {wheels + sdists}"]
    with zipfile.ZipFile(wheels[0]) as wheel:
        found = wheel_problems(wheel.namelist())
    with tarfile.open(sdists[0]) as sdist:
        found += sdist_problems([m.name for m in sdist.getmembers() if m.isfile()])
    return found


def pins(text: str) -> dict[str, str]:
    """The ``name==version`` lines of a constraints file, by normalized name."""
    pinned = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, release = line.partition("==")
            pinned[Requirement(name).name.lower()] = release.strip()
    return pinned


def declared_floors(requirements: Sequence[str]) -> dict[str, str]:
    """The ``>=`` lower bound of each requirement that has one, by normalized name."""
    floors = {}
    for text in requirements:
        requirement = Requirement(text)
        for spec in requirement.specifier:
            if spec.operator == ">=":
                floors[requirement.name.lower()] = spec.version
    return floors


def floor_problems(
    pinned: Mapping[str, str], floors: Mapping[str, str], installed: Mapping[str, str | None]
) -> list[str]:
    found = []
    for name, release in sorted(pinned.items()):
        if floors.get(name) != release:
            found.append(
                f"{name} is pinned to {release}, pyproject.toml declares {floors.get(name)}"
            )
        if installed.get(name) != release:
            found.append(f"{name} {installed.get(name)} is installed, the floor is {release}")
    return found


def installed_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def project_requirements() -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [*project["dependencies"], *extras]


def main(argv: Sequence[str]) -> int:
    if list(argv[:1]) == ["archives"] and len(argv) == 2:
        found = archive_problems(Path(argv[1]))
    elif list(argv) == ["floor"]:
        pinned = pins(FLOOR.read_text())
        installed = {name: installed_version(name) for name in pinned}
        found = floor_problems(pinned, declared_floors(project_requirements()), installed)
        print(", ".join(f"{name} {release}" for name, release in sorted(installed.items())))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
