"""What the ARN of a resource a role names must look like: exactly one resource of its kind.

A grant on an ARN with an IAM wildcard in its name, partition, region or account would allow
every resource the pattern matches; one on a name the service cannot have (an ECR repository
in capitals, a secret named like a complete ARN's random suffix) matches no request, and the
task fails at launch. Props are checked here at construction (:func:`check_exact_name`), the
templates' resolved ARNs at synth (:func:`name_problem`).
"""

from __future__ import annotations

import re

from ._errors import ExecutionRoleError
from ._kinds import Kind, Shape

__all__ = ["check_exact_name", "name_problem", "shown_arn", "suffixed_secret_name"]

# An unresolved string token as CDK encodes it inside a string.
_STRING_TOKEN = re.compile(r"\$\{Token\[[^\]]*\]\}")
_PSEUDO_TOKEN = re.compile(r"\$\{Token\[AWS\.(\w+)\.\d+\]\}")
# ECR repository names: lowercase, optionally namespaced with "/". A grant on a name that ECR
# cannot have (uppercase, for example) matches no request, so the pull would fail at launch.
_ECR_REPOSITORY_NAME = re.compile(
    r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
)


def shown_arn(arn: str) -> str:
    """An ARN for a message: pseudo parameters as ``<AWS::Partition>``, other tokens elided."""
    arn = _PSEUDO_TOKEN.sub(lambda m: f"<AWS::{m.group(1)}>", arn)
    return repr(_STRING_TOKEN.sub("<token>", arn))


def name_problem(kind: Kind, text: str, wildcard: str = "") -> str | None:
    """Why an ARN would name more than one resource of its kind, or none; ``None`` if it
    names one.

    :param text: the ARN as literal text, every part the template cannot know as ``<...>``
        (``_cfn.flatten`` of its template form, or a CDK string with its tokens shown so).
    :param wildcard: the IAM wildcard the ARN is built to end in (a name prefix's ``*``),
        besides the one its kind's ARNs end in by themselves.
    """
    if kind.shape is Shape.TAGGED:
        return None
    label = kind.label.replace("_", " ")
    field_problem = _field_problem(text, label)
    if field_problem is not None:
        return field_problem
    name = _name_part(kind, text)
    if name is None:
        return None if "<" in text or "{" in text else f"is not the ARN of a {label}"
    for suffix in (wildcard, kind.wildcard):
        if suffix and name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if kind is Kind.SECRET and (problem := suffixed_secret_name(text)) is not None:
        return problem
    parts = name.split(":log-stream:", 1) if kind is Kind.LOG_STREAM else [name]
    if kind is Kind.S3_OBJECT:
        bucket, slash, key = name.partition("/")
        parts = [bucket, key] if slash else [name, ""]
    if not all(parts):
        return f"has an empty name, so it names no {label}"
    if "*" in name or "?" in name:
        return (
            f"holds the IAM wildcard '*' or '?' in its name, so IAM would allow every {label} "
            "the pattern matches"
        )
    if "${" in name:
        return "holds '${', which IAM reads as the start of a policy variable"
    if (
        kind is Kind.REPOSITORY
        and not wildcard
        and "<" not in name
        and not _ECR_REPOSITORY_NAME.fullmatch(name)
    ):
        return (
            f"has the name {name!r}, which is not a valid ECR repository name; ECR names are "
            "lowercase letters, digits and . _ - /, so the grant would match no image pull"
        )
    return None


_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_SUFFIXED_SECRET_NAME = (
    "names the secret by {name!r}, a name ending in a hyphen and six characters, which Secrets "
    "Manager reads as the random suffix of a complete ARN: the pattern name-?????? matches no "
    "secret, and ECS cannot fetch it by that partial ARN either (import the secret by its "
    "complete ARN: secretsmanager.Secret.from_secret_complete_arn)"
)


def suffixed_secret_name(arn: str) -> str | None:
    """Why a secret named by a partial ARN (``name-??????``) whose name ends like the random
    suffix of a complete one (Secrets Manager takes it for that suffix; aws-cdk #27530,
    #18555) names no secret; ``None`` for any other ARN."""
    name = (_name_part(Kind.SECRET, arn) or "").removesuffix(Kind.SECRET.wildcard)
    suffixed = arn.endswith(Kind.SECRET.wildcard) and _SECRET_SUFFIX.search(name)
    return _SUFFIXED_SECRET_NAME.format(name=name) if suffixed else None


_ARN_FIELDS = ("partition", "service", "region", "account")
_UNKNOWN_PART = re.compile(r"<[^<>]*>")


def _field_problem(text: str, label: str) -> str | None:
    """A wildcard in an ARN's partition, region or account: the grant would reach the
    resources of that name in every partition, region or account the pattern matches."""
    if not text.startswith("arn:"):
        return None
    # A part the template cannot know (<AWS::Partition>) holds colons of its own.
    fields = _UNKNOWN_PART.sub("_", text).split(":", 5)[1:5]
    for name, value in zip(_ARN_FIELDS, fields, strict=False):
        if "*" in value or "?" in value:
            return (
                f"holds the IAM wildcard {value!r} as its {name}, so IAM would allow the "
                f"{label} of that name in every {name} the pattern matches"
            )
    return None


def _name_part(kind: Kind, text: str) -> str | None:
    """What follows the kind's marker in ``text`` (for S3, the bucket and key, also after a
    bucket ARN the template cannot know); ``None`` where the marker is missing."""
    _, marker, name = text.partition(kind.marker)
    if marker:
        return name
    if kind in (Kind.S3_OBJECT, Kind.S3_BUCKET) and text.startswith("<"):
        # <Bucket.Arn>/key: the bucket is the app's, the key is written out.
        _, slash, key = text.partition("/")
        return f"<bucket>/{key}" if slash else None
    return None


def check_exact_name(
    construct_path: str,
    prop: str,
    index: int,
    kind: Kind,
    arn: str,
    origin: object,
    wildcard: str = "",
) -> None:
    """Raise when ``arn`` (a CDK string; its tokens, unknown until synth, are checked then)
    would not name exactly one resource of ``kind``."""
    # IAM reads "*" and "?" in a Resource as wildcards: a name holding one would grant every
    # resource it matches, not the one resource the prop names.
    text = _STRING_TOKEN.sub("<token>", _PSEUDO_TOKEN.sub("<pseudo>", arn))
    problem = name_problem(kind, text, wildcard)
    if problem is not None:
        raise ExecutionRoleError(
            f"{construct_path}: {prop}[{index}] ({origin}) has the ARN {shown_arn(arn)}, "
            f"which {problem}. Import each resource by its exact name or ARN"
            + (
                ", for example ecr.Repository.from_repository_name(scope, 'Repo', 'my-app')."
                if kind is Kind.REPOSITORY
                else "."
            )
        )
