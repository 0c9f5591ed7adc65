"""Who owns each bucket a role reads files from: the account S3 reads are pinned to.

ECS reads environment files, FireLens configuration files and credential specs from S3 by
bucket name. Bucket names are global: a bucket deleted by its owner can be created again, under
the same name, by any account, and a role allowed ``s3:GetObject`` on
``arn:aws:s3:::<name>/<key>`` would then read the new owner's object. The Amazon ECS Developer
Guide's task execution role page ("Amazon S3 file storage permissions", its security
consideration: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html#s3-required)
recommends pinning these reads to the owner with ``aws:ResourceAccount``; every S3 statement the
library writes carries that condition (the global key, which the IAM User Guide's list of
global condition keys does not except for S3; the S3 User Guide treats it and
``s3:ResourceAccount`` alike for this).

A bucket's owner is, first, the account ``bucket_owner_accounts`` names for its name; then the
account its CDK object has (a bucket of the app: its stack's; an import with ``account=``);
then the account of the role's stack. ``bucket_owner_condition=False`` leaves the condition
out, for a bucket whose owner is not known when the app is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ._cdk_internals import read_attribute
from ._cfn import is_unresolved
from ._kinds import Shape
from ._needs import Need

__all__ = ["imported_owners", "object_owner", "s3_bucket_arn_of", "with_owners"]


def imported_owners(imports: Sequence[Any]) -> dict[str, str]:
    """The buckets imported into the app (``Bucket.from_bucket_attributes``, ``from_bucket_name``)
    by name, each with the account its object names: an environment file or a credential spec
    keeps only its bucket's name, which leads back to the import."""
    owners: dict[str, str] = {}
    for bucket in imports:
        name, account = bucket.bucket_name, str(bucket.env.account)
        if not is_unresolved(name) and not is_unresolved(account):
            owners.setdefault(name, account)
    return owners


def object_owner(bucket: Any) -> str:
    """The account a bucket's CDK object names as its owner (its stack's for a bucket of
    the app, ``account=`` of an import); "" for no object."""
    env = read_attribute(bucket, "env") if bucket is not None else None
    return str(env.account) if env is not None else ""


def s3_bucket_arn_of(object_arn: str) -> str:
    """The bucket ARN of an S3 object ARN held as a CDK string: ``arn:<p>:s3:::<bucket>`` of
    ``arn:<p>:s3:::<bucket>/<key>``, or the bucket ARN token before ``/<key>`` (a bucket name
    or ARN token holds no ``/``)."""
    head, separator, path = object_arn.partition(":::")
    if separator:
        return f"{head}:::{path.split('/', 1)[0]}"
    return object_arn.split("/", 1)[0]


def _bucket_name(need: Need) -> str:
    """The bucket name an S3 need's ARN names (a CDK string; empty for a token ARN)."""
    return s3_bucket_arn_of(need.arn).partition(":::")[2]


def with_owners(
    needs: Sequence[Need],
    owners: Mapping[str, str],
    default: str,
    imported: Callable[[], Mapping[str, str]],
    *,
    condition: bool = True,
) -> list[Need]:
    """``needs`` with each S3 need's ``owner`` set: the account ``owners`` names for its
    bucket, else the one a need of the same bucket has from its object, else that of the
    import of its name (``imported``, asked only then), else ``default`` (the role's stack's
    account); "" everywhere when ``condition`` is off."""
    found: Mapping[str, str] | None = None
    known: dict[str, str] = {}
    for need in needs:
        if need.kind.shape is Shape.OWNED and need.owner:
            known.setdefault(s3_bucket_arn_of(need.arn), need.owner)
    result = []
    for need in needs:
        if need.kind.shape is not Shape.OWNED:
            result.append(need)
            continue
        owner = ""
        if condition:
            name = _bucket_name(need)
            owner = owners.get(name) or known.get(s3_bucket_arn_of(need.arn)) or ""
            if not owner and name and not is_unresolved(name):
                found = imported() if found is None else found
                owner = found.get(name, "")
            owner = owner or default
        result.append(need if owner == need.owner else replace(need, owner=owner))
    return result
