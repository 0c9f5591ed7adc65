"""Where a container's image comes from, read from its template form.

An image is an ECR repository's (``<account>.dkr.ecr.<region>.amazonaws.com/<name>``, its FIPS
and dual-stack endpoints, a tag, a digest or both), another registry's (Docker Hub, ECR
Public, GitHub), or something the template cannot tell (a parameter holding the whole URI).
The URI may be written out, built from pseudo parameters (``from_asset``, a repository
imported into an environment-agnostic stack) or from a repository of the app
(``repository_uri_for_tag``): each gives the repository's ARN in the flattened form of
``_cfn.flatten``, which the role's statements are compared in.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from ._cfn import flatten
from ._trust import partition_of_region

__all__ = ["ROUTER_NAME", "ImageSource", "Registry", "image_source", "is_default_router"]

# aws-cdk-lib's default FireLens log router: its container name, and the public SSM parameter
# its AWS-owned image is named by.
ROUTER_NAME = "log-router"
_FLUENT_BIT_PARAMETER = re.compile(r"^SsmParameterValueawsserviceawsforfluentbit")


class Registry(enum.Enum):
    ECR = "ecr"  # a private ECR repository: the role must pull from it
    OTHER = "other"  # a registry the execution role has no say in
    UNKNOWN = "unknown"  # the template cannot tell


@dataclass(frozen=True)
class ImageSource:
    """Where an image comes from.

    :param repository_arn: for ECR, the repository's ARN, flattened (``<AWS::Region>`` for a
        pseudo parameter, ``<Repo1234.Arn>`` for a repository of the app).
    :param from_arn: the URI was built from the repository's ARN (``repository_uri_for_tag``
        of a repository the template cannot name otherwise).
    """

    registry: Registry
    repository_arn: str = ""
    from_arn: bool = False


# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] and the dual-stack
# <account>.dkr-ecr[-fips].<region>.on.aws; parts the template cannot know as \x01n\x02.
_PART = r"\x01\d+\x02"
_ECR_IMAGE = re.compile(
    rf"(?P<account>\d{{12}}|{_PART})\.dkr(?:\.ecr|-ecr)(?:-fips)?\."
    rf"(?P<region>[a-z0-9-]+|{_PART})\.(?P<suffix>amazonaws\.com(?:\.cn)?|on\.aws|{_PART})/"
    rf"(?P<name>(?:[a-z0-9._/-]|{_PART})+?)"
    rf"(?::(?P<tag>(?:[\w.-]|{_PART})+))?(?:@sha256:(?:[0-9a-f]{{64}}|{_PART}))?"
)
_PLACEHOLDER = re.compile(r"\x01(\d+)\x02")


def image_source(image: Any) -> ImageSource:
    """Where an image comes from, from its resolved template value."""
    parts: list[Any] = []
    text = _text(image, parts)
    match = _ECR_IMAGE.fullmatch(text)
    if match is None:
        registry, slash, _ = text.partition("/")
        if not slash:
            # A Docker Hub official image ("nginx:1"), unless the template holds it whole.
            literal = not text.startswith("\x01")
            return ImageSource(Registry.OTHER if literal else Registry.UNKNOWN)
        return ImageSource(Registry.UNKNOWN if "\x01" in registry else Registry.OTHER)
    repository_arn = _app_repository(match, parts)
    if repository_arn:
        return ImageSource(Registry.ECR, repository_arn, from_arn=True)
    region = _shown(match["region"], parts)
    # The comparison form (``_cfn.canonical``) takes any partition for the stack's own.
    partition = "<AWS::Partition>" if "<" in region else partition_of_region(region) or "aws"
    account = _shown(match["account"], parts)
    name = _shown(match["name"], parts)
    return ImageSource(Registry.ECR, f"arn:{partition}:ecr:{region}:{account}:repository/{name}")


def _text(value: Any, parts: list[Any]) -> str:
    """``value`` as text, each part the template cannot know as a numbered placeholder."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1 and "Fn::Join" in value:
        delimiter, items = value["Fn::Join"]
        return str(delimiter).join(_text(item, parts) for item in items)
    if isinstance(value, dict) and len(value) == 1 and "Fn::Sub" in value:
        argument = value["Fn::Sub"]
        if isinstance(argument, str):
            # ${AWS::Region} and the like: each variable a part the template cannot know.
            return re.sub(
                r"\$\{([^}!][^}]*)\}", lambda m: _part({"Ref": m[1]}, parts), argument
            ).replace("${!", "${")
    return _part(value, parts)


def _part(value: Any, parts: list[Any]) -> str:
    parts.append(value)
    return f"\x01{len(parts) - 1}\x02"


def _shown(text: str, parts: list[Any]) -> str:
    """Placeholders back as ``_cfn.flatten`` shows their values."""
    return _PLACEHOLDER.sub(lambda m: flatten(parts[int(m[1])]), text)


def _app_repository(match: re.Match[str], parts: list[Any]) -> str:
    """The ARN (flattened) of the repository whose URI ``repository_uri_for_tag`` built from
    its ARN: the account and region split from it, the name a value of its own (a
    repository of the app, or one passed to a nested stack as a parameter)."""
    if _PLACEHOLDER.fullmatch(match["name"]) is None:
        return ""
    arns = []
    for group, index in (("account", 4), ("region", 3)):
        placeholder = _PLACEHOLDER.fullmatch(match[group])
        value = parts[int(placeholder[1])] if placeholder is not None else None
        select = value.get("Fn::Select") if isinstance(value, dict) else None
        if not (isinstance(select, list) and len(select) == 2 and select[0] == index):
            return ""
        split = select[1].get("Fn::Split") if isinstance(select[1], dict) else None
        if not (isinstance(split, list) and len(split) == 2 and split[0] == ":"):
            return ""
        arns.append(split[1])
    return flatten(arns[0]) if arns[0] == arns[1] else ""


def is_default_router(container: dict[str, Any]) -> bool:
    """Whether a container (template form) is aws-cdk-lib's default FireLens log router, whose
    image is an AWS-owned one named by a public SSM parameter."""
    image = container.get("image")
    return (
        container.get("name") == ROUTER_NAME
        and container.get("firelensConfiguration") is not None
        and isinstance(image, dict)
        and isinstance(image.get("Ref"), str)
        and _FLUENT_BIT_PARAMETER.match(image["Ref"]) is not None
    )
