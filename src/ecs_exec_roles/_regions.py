"""The partition of a region, read from its name: for the templates' reader, the statements
and the trust policy alike, without aws-cdk-lib."""

from __future__ import annotations

import re

__all__ = ["partition_of_region"]

_PARTITION_PREFIXES = (
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)
_COMMERCIAL_REGION = re.compile(r"^[a-z]{2}-[a-z]+-\d+$")


def partition_of_region(region: str) -> str | None:
    """The partition of a region name, or ``None`` for a name of no known shape.

    Read from the name (as aws-cdk-lib's region facts do) rather than asked of aws-cdk-lib:
    a call into it per stack costs more than the lookup.
    """
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    if _COMMERCIAL_REGION.match(region) and "iso" not in region:
        return "aws"
    return None
