"""Values only deployment tells, as placeholders in resolved text.

A value CloudFormation fills in at deployment (a generated name, the account of an
environment-agnostic stack) is written into resolved text as an opaque placeholder
``\x01<n>\x02``: two placeholders are equal exactly when they stand for the same value, IAM's
``*`` covers one, and nothing else matches it (``_evaluate``). :class:`Symbols` hands them out,
one per value, and shows them in messages as ``_cfn.flatten`` shows the intrinsic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PLACEHOLDER", "PSEUDO_PARAMETERS", "Symbols", "Unknown"]

PLACEHOLDER = re.compile("\x01(\\d+)\x02")
#: The pseudo parameters an ARN is built from.
PSEUDO_PARAMETERS = ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")


@dataclass(frozen=True)
class Unknown:
    """A value only deployment tells.

    :param label: how messages show it (``<LogGroup1234>``, ``<AWS::Region>``), as
        ``_cfn.flatten`` shows the same intrinsic.
    :param key: what it stands for; two unknowns with the same key are the same value.
    :param resource_type: the type of the resource it is the ``Ref`` or attribute of.
    :param attribute: ``Ref`` or the attribute's name, for a resource's value.
    :param ssm_parameter: for the value of an SSM parameter a stack parameter reads
        (``AWS::SSM::Parameter::Value<String>``), the SSM parameter's name.
    :param expression: the intrinsic, as the template writes it.
    :param never_holds: characters the value never holds (a pseudo parameter holds no
        ``:`` or ``/``; a log group's name no ``:``); any other unknown may hold anything,
        a whole ARN for one.
    """

    label: str
    key: tuple[Any, ...]
    resource_type: str = ""
    attribute: str = ""
    ssm_parameter: str = ""
    expression: Any = field(default=None, compare=False)
    never_holds: str = ""

    @property
    def pseudo(self) -> str:
        """The pseudo parameter it is, or ``""``."""
        return str(self.key[1]) if self.key[0] == "pseudo" else ""


class Symbols:
    """The placeholders of one reading: each unknown value once, by its key."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[Any, ...], str] = {}
        self._unknowns: list[Unknown] = []

    def placeholder(self, unknown: Unknown) -> str:
        text = self._by_key.get(unknown.key)
        if text is None:
            text = self._by_key[unknown.key] = f"\x01{len(self._unknowns)}\x02"
            self._unknowns.append(unknown)
        return text

    def unknown(self, text: Any) -> Unknown | None:
        """What ``text`` stands for, when it is one placeholder and nothing else."""
        if not isinstance(text, str):
            return None
        match = PLACEHOLDER.fullmatch(text)
        return self._unknowns[int(match[1])] if match else None

    def unknowns(self, text: str) -> Iterator[Unknown]:
        """Every unknown part of ``text``, in order."""
        for match in PLACEHOLDER.finditer(text):
            yield self._unknowns[int(match[1])]

    def display(self, value: Any) -> str:
        """``value`` for a message: each placeholder as its label; anything but text as
        compact JSON."""
        labelled = self._labelled(value)
        if isinstance(labelled, str):
            return labelled
        return json.dumps(labelled, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def _labelled(self, value: Any) -> Any:
        # Labels first: JSON escapes the placeholders' control characters.
        if isinstance(value, str):
            return PLACEHOLDER.sub(lambda m: self._unknowns[int(m[1])].label, value)
        if isinstance(value, list):
            return [self._labelled(item) for item in value]
        if isinstance(value, dict):
            return {self._labelled(key): self._labelled(item) for key, item in value.items()}
        return value
