"""The documentation site: every public name documented, the build strict, the README in it.

The site (``docs/``, built by ``python -m scripts.docs``) is the README, the changelog and the
contributors' guide, included as they are, the site's own pages (the comparison, the
benchmarks, how the library is verified) and an API reference rendered by autodoc from the
docstrings.
"""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import ecs_exec_roles
from scripts import docs

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PUBLIC_CLASSES = [
    getattr(ecs_exec_roles, name)
    for name in ecs_exec_roles.__all__
    if inspect.isclass(getattr(ecs_exec_roles, name))
]


def _own_bases(cls: type) -> list[type]:
    """``cls`` and its bases that the package defines (not Construct, not ValueError)."""
    return [base for base in cls.__mro__ if base.__module__.startswith("ecs_exec_roles")]


def _public_members(cls: type) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for base in reversed(_own_bases(cls)):
        members.update(
            {name: value for name, value in vars(base).items() if not name.startswith("_")}
        )
    return members


def _functions(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, member in _public_members(cls).items():
        if inspect.isfunction(member):
            yield name, member


def _param_docs(docstring: str | None) -> dict[str, str]:
    """The ``:param name: text`` fields of a docstring."""
    fields = re.finditer(
        r"^:param (\w+):(.*?)(?=^:|\Z)", inspect.cleandoc(docstring or ""), re.M | re.S
    )
    return {field[1]: " ".join(field[2].split()) for field in fields}


def _constructor_parameters(cls: type) -> list[inspect.Parameter]:
    """The parameters of ``cls``'s own constructor, if the package defines one."""
    init = vars(cls).get("__init__") or next(
        (vars(base)["__init__"] for base in _own_bases(cls) if "__init__" in vars(base)), None
    )
    if init is None:
        return []
    return list(inspect.signature(init).parameters.values())[1:]


# -- the docstrings ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ecs_exec_roles.__all__)
def test_every_public_name_has_a_docstring(name: str) -> None:
    assert (getattr(ecs_exec_roles, name).__doc__ or "").strip(), name


@pytest.mark.parametrize(
    ("cls", "member"),
    [(cls, member) for cls in PUBLIC_CLASSES for member in _public_members(cls)],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_every_public_member_has_a_docstring(cls: type, member: str) -> None:
    value = _public_members(cls)[member]
    assert (getattr(value, "__doc__", None) or "").strip(), f"{cls.__name__}.{member}"


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_every_constructor_parameter_is_documented_with_its_default(cls: type) -> None:
    documented = _param_docs(cls.__doc__)
    parameters = _constructor_parameters(cls)
    assert [p.name for p in parameters if p.name not in documented] == []
    assert [name for name in documented if name not in {p.name for p in parameters}] == []
    without_default = [
        p.name
        for p in parameters
        if p.default is not inspect.Parameter.empty and "Default:" not in documented[p.name]
    ]
    assert without_default == []


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_every_method_parameter_is_documented_there_or_as_a_constructor_prop(cls: type) -> None:
    props = set(_param_docs(cls.__doc__))
    undocumented = [
        f"{name}({parameter})"
        for name, function in _functions(cls)
        for parameter in list(inspect.signature(function).parameters)[1:]
        if parameter not in _param_docs(function.__doc__) and parameter not in props
    ]
    assert undocumented == []


def test_param_docs_reads_each_field_to_the_next() -> None:
    docstring = """Summary.

    :param first: one line.
    :param second: two
        lines. Default: - none.
    :returns: nothing.
    """
    assert _param_docs(docstring) == {
        "first": "one line.",
        "second": "two lines. Default: - none.",
    }


# -- the built site ----------------------------------------------------------------------------


class _Page(HTMLParser):
    """A built page read back: its anchors, its headings and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.headings: list[str] = []
        self.text_parts: list[str] = []
        self._heading: list[str] | None = None
        self._hidden_depth = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        identifier = dict(attrs).get("id")
        if identifier:
            self.ids.append(identifier)
        if tag in ("script", "style"):
            self._hidden_depth += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden_depth -= 1
        elif re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append("".join(self._heading).replace("¶", "").strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        self.text_parts.append(data)
        if self._heading is not None:
            self._heading.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output_dir = tmp_path_factory.mktemp("site")
    result = docs.build(output_dir, capture=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr
    return output_dir


def _page(site: Path, name: str) -> _Page:
    """The main part of a built page, without the theme's sidebar."""
    html = (site / name).read_text()
    return _Page(html[html.index('role="main"') :].split('class="sphinxsidebar"')[0])


def _section(site: Path, cls: type) -> _Page:
    """The part of the reference page that documents ``cls``, up to the next public class."""
    html = (site / "reference.html").read_text()
    start = html.index(f'id="ecs_exec_roles.{cls.__name__}"')
    ends = [
        html.find(f'id="ecs_exec_roles.{other.__name__}"', start + 1)
        for other in PUBLIC_CLASSES
        if other is not cls
    ]
    return _Page(html[start : min([end for end in ends if end > 0], default=len(html))])


def test_the_reference_has_an_entry_for_every_public_name_and_member(site: Path) -> None:
    expected = {f"ecs_exec_roles.{name}" for name in ecs_exec_roles.__all__} | {
        f"ecs_exec_roles.{cls.__name__}.{member}"
        for cls in PUBLIC_CLASSES
        for member in _public_members(cls)
    }
    entries = {
        identifier
        for identifier in _page(site, "reference.html").ids
        if identifier.startswith("ecs_exec_roles.")
    }
    assert sorted(expected - entries) == []
    # Nothing private, nothing inherited from Construct or ValueError.
    assert sorted(entries - expected) == []


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_the_reference_lists_each_constructor_parameter_with_its_type(
    site: Path, cls: type
) -> None:
    text = _section(site, cls).text
    missing = [
        parameter.name
        for parameter in _constructor_parameters(cls)
        # `name (type)`, a dash and the text: the field autodoc renders from `:param name:`.
        if not re.search(rf"\b{parameter.name} \([^)]+\) \u2013 \S", text)
    ]
    assert missing == []
    if not _constructor_parameters(cls):
        return  # ValueError's constructor
    signature = re.search(rf"ecs_exec_roles\.{cls.__name__}\((.*?)\)¶", text)
    assert signature is not None
    shown = [part.split("=")[0].strip() for part in signature[1].split(",")]
    assert [name for name in shown if name != "*"] == [
        parameter.name for parameter in _constructor_parameters(cls)
    ]


def test_the_reference_shows_no_raw_docstring_markup(site: Path) -> None:
    text = _page(site, "reference.html").text
    assert re.findall(r":(?:param|class|meth|attr|returns?|raises)\b:?|``", text) == []
    # Each prop's default survives as a sentence of its own.
    assert "Default: - no ECR access." in text


def _headings(markdown: str) -> list[str]:
    outside_code = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    return [
        heading.replace("`", "") for heading in re.findall(r"^#{1,6} (.+)$", outside_code, re.M)
    ]


@pytest.mark.parametrize(
    ("source", "document"),
    [("README.md", "index"), ("CHANGELOG.md", "CHANGELOG"), ("CONTRIBUTING.md", "CONTRIBUTING")],
)
def test_the_site_shows_the_readme_and_the_changelog(
    site: Path, source: str, document: str
) -> None:
    expected = _headings((ROOT / source).read_text())
    assert len(expected) > 3
    # The site prints apostrophes as typographic ones.
    shown = [heading.replace("\u2019", "'") for heading in _page(site, f"{document}.html").headings]
    assert shown == expected
    # Included where it stands, not copied.
    assert f"```{{include}} ../{source}" in (ROOT / "docs" / f"{document}.md").read_text()


PAGES = sorted(
    page.stem
    for page in (ROOT / "docs").glob("*.md")
    if not page.read_text().startswith("```{include}")
)


def test_the_site_has_its_guides_and_pages() -> None:
    assert PAGES == [
        "benchmarks",
        "checks",
        "comparison",
        "features",
        "migrating",
        "shared-at-scale",
        "verification",
    ]


@pytest.mark.parametrize("page", PAGES)
def test_the_site_shows_its_own_pages_and_the_readme_links_them(site: Path, page: str) -> None:
    expected = _headings((ROOT / "docs" / f"{page}.md").read_text())
    assert len(expected) >= 1
    shown = [heading.replace("\u2019", "'") for heading in _page(site, f"{page}.html").headings]
    assert shown == expected
    # Linked from the README as on GitHub (docs/PAGE.md), and as a page of the site.
    assert f"](docs/{page}.md)" in README
    assert re.search(
        rf'<a class="reference internal" href="{page}.html', (site / "index.html").read_text()
    )


def test_headings_skips_code_blocks() -> None:
    assert _headings("# Title\n\n```bash\n# a comment\n```\n\n## `derive=False`\n") == [
        "Title",
        "derive=False",
    ]


def test_every_page_links_the_reference(site: Path) -> None:
    for page in ("index.html", "genindex.html"):
        assert 'href="reference.html"' in (site / page).read_text(), page


# -- the build is strict -----------------------------------------------------------------------


def test_fails_on_a_broken_link_or_reference_while_the_readmes_links_resolve(
    tmp_path: Path,
) -> None:
    # A project with the site's sources and a README whose links are relative to it, as on
    # GitHub: a link to the changelog, to the reference, to a section (anchored as GitHub
    # anchors it), to a file that is missing, and a reference to a name that is missing.
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    for included in ("CHANGELOG.md", "CONTRIBUTING.md"):
        shutil.copy(ROOT / included, tmp_path / included)
    (tmp_path / "README.md").write_text(
        "# Project\n\n## Default settings\n\nSee the [changelog](CHANGELOG.md), the "
        "[reference](docs/reference.rst), the [defaults](#default-settings) and the "
        "[guide](missing.md).\n"
    )
    (tmp_path / "docs" / "reference.rst").write_text(
        "Reference\n=========\n\nSee :class:`ecs_exec_roles.NoSuchRole`.\n"
    )
    result = docs.build(tmp_path / "site", tmp_path / "docs", capture=True)
    assert result.returncode != 0
    # `--keep-going`: each warning is reported, and only the two broken ones.
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, result.stderr
    assert any("missing.md" in warning for warning in warnings), result.stderr
    assert any("ecs_exec_roles.NoSuchRole" in warning for warning in warnings), result.stderr
    index = (tmp_path / "site" / "index.html").read_text()
    for target in ("CHANGELOG.html", "reference.html", "#default-settings"):
        assert re.search(rf'<a class="reference internal" href="{target}"', index), target
