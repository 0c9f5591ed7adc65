"""What users see of the distribution: version, license, classifiers, the supported range."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

import ecs_exec_roles
from scripts import dist_checks, smoke_app

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return data


def test_version_is_the_one_pyproject_declares(project: dict[str, Any]) -> None:
    # An installed copy older than the checkout (a stale editable install) shows up here.
    assert ecs_exec_roles.__version__ == project["version"]
    assert "__version__" not in ecs_exec_roles.__all__


def test_importing_the_package_loads_no_distribution_metadata() -> None:
    # Every synth imports the package; importlib.metadata (and the email parser it loads)
    # cost more than the rest of the package's import, so the version is read when asked.
    # Some aws-cdk-lib releases load importlib.metadata themselves: it is forgotten before
    # the package is imported, so that only the package's own import could load it again.
    code = (
        "import sys, aws_cdk, aws_cdk.aws_ecs, aws_cdk.aws_ecs_patterns\n"
        "for name in [n for n in sys.modules if n.startswith('importlib.metadata')]:\n"
        "    del sys.modules[name]\n"
        "import ecs_exec_roles\n"
        "print('importlib.metadata' in sys.modules, ecs_exec_roles.__version__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded, version = result.stdout.split()
    assert loaded == "False"
    assert version == ecs_exec_roles.__version__
    with pytest.raises(AttributeError, match="no attribute 'version'"):
        ecs_exec_roles.version  # noqa: B018


def test_license_file_is_the_apache_license_the_metadata_declares(
    project: dict[str, Any],
) -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    installed = metadata("ecs-exec-roles")
    assert installed["License-Expression"] == "Apache-2.0"
    assert installed.get_all("License-File") == ["LICENSE"]


def test_classifiers_name_a_status_and_the_python_versions_from_the_floor(
    project: dict[str, Any],
) -> None:
    classifiers = project["classifiers"]
    assert len([c for c in classifiers if c.startswith("Development Status :: ")]) == 1
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    # PEP 639: the license expression replaces license classifiers.
    assert not [c for c in classifiers if c.startswith("License :: ")]
    minors = sorted(
        int(c.rsplit(".", 1)[1])
        for c in classifiers
        if c.startswith("Programming Language :: Python :: 3.")
    )
    assert minors == list(range(minors[0], minors[-1] + 1)), "versions with a gap"
    requires = SpecifierSet(project["requires-python"])
    assert f"3.{minors[0]}" in requires and f"3.{minors[0] - 1}" not in requires


def test_classifiers_are_ones_pypi_accepts(project: dict[str, Any]) -> None:
    from trove_classifiers import classifiers, deprecated_classifiers

    unknown = [c for c in project["classifiers"] if c not in classifiers]
    assert unknown == []
    assert not set(project["classifiers"]) & set(deprecated_classifiers)


def test_floor_pins_are_the_declared_lower_bounds(project: dict[str, Any]) -> None:
    pinned = dist_checks.pins((ROOT / "constraints" / "floor.txt").read_text())
    assert set(pinned) == {"aws-cdk-lib", "constructs", "cdk-nag", "pyyaml"}
    floors = dist_checks.declared_floors(dist_checks.project_requirements())
    assert {name: floors.get(name) for name in pinned} == pinned


def test_floor_problems_name_a_moved_bound_and_a_newer_install() -> None:
    pinned = {"aws-cdk-lib": "2.271.0"}
    assert dist_checks.floor_problems(pinned, pinned, pinned) == []
    assert dist_checks.floor_problems(pinned, {"aws-cdk-lib": "2.275.0"}, pinned) == [
        "aws-cdk-lib is pinned to 2.271.0, pyproject.toml declares 2.275.0"
    ]
    assert dist_checks.floor_problems(pinned, pinned, {"aws-cdk-lib": "2.275.0"}) == [
        "aws-cdk-lib 2.275.0 is installed, the floor is 2.271.0"
    ]


def test_pins_read_names_case_and_comments() -> None:
    text = "# floor\nAWS-CDK-Lib==2.271.0  # oldest\n\nconstructs==10.5.1\n"
    assert dist_checks.pins(text) == {"aws-cdk-lib": "2.271.0", "constructs": "10.5.1"}


WHEEL = [
    "ecs_exec_roles/__init__.py",
    "ecs_exec_roles/py.typed",
    "ecs_exec_roles-0.1.0.dist-info/METADATA",
    "ecs_exec_roles-0.1.0.dist-info/licenses/LICENSE",
]
SDIST = [
    "ecs_exec_roles-0.1.0/LICENSE",
    "ecs_exec_roles-0.1.0/PKG-INFO",
    "ecs_exec_roles-0.1.0/README.md",
    "ecs_exec_roles-0.1.0/pyproject.toml",
    "ecs_exec_roles-0.1.0/src/ecs_exec_roles/__init__.py",
    "ecs_exec_roles-0.1.0/src/ecs_exec_roles.egg-info/SOURCES.txt",
]


def test_complete_archives_have_no_problems() -> None:
    assert dist_checks.wheel_problems(WHEEL) == []
    assert dist_checks.sdist_problems(SDIST) == []


def test_fails_when_an_archive_lacks_the_license_or_holds_tests() -> None:
    assert dist_checks.wheel_problems([*WHEEL[:3], "tests/test_x.py"]) == [
        "the wheel has no dist-info/licenses/LICENSE",
        "the wheel holds files outside the package: ['tests/test_x.py']",
    ]
    assert dist_checks.sdist_problems([*SDIST[1:], "ecs_exec_roles-0.1.0/tests/test_x.py"]) == [
        "the sdist has no LICENSE",
        "the sdist holds files beyond the package: ['tests/test_x.py']",
    ]


def test_smoke_app_finds_exactly_the_repository_and_the_log_group(tmp_path: Path) -> None:
    template = smoke_app.synthesize(str(tmp_path / "cdk.out"))
    assert smoke_app.problems(template) == []
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            resource["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] = "arn:x"
    (problem,) = smoke_app.problems(template)
    assert problem.startswith("the policies allow {")
