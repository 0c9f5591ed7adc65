"""The ECR pull-through cache rules of an app: which images ECR fetches from an upstream
registry when a task pulls them, with the permissions of the role that pulls.

The Amazon ECR User Guide ("IAM permissions required to sync an upstream registry with an
Amazon ECR private registry",
https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html): besides the
pull actions, the principal that pulls an image through a cache rule needs
``ecr:BatchImportUpstreamImage``, ``ecr:CreateRepository`` while the cache repository does not
exist yet (its first pull), and ``ecr:TagResource`` only when a repository creation template
that applies to the rule adds resource tags. A template applies to the repositories whose names
start with its prefix, and ``ROOT`` to those no other template matches ("Creating a repository
creation template in Amazon ECR", repository-creation-templates-create.html).

An image is pulled through a rule when its URI names the rule's account and region and its
repository name starts with the rule's prefix and ``/``; an ECR-to-ECR rule may have the
prefix ``ROOT``, and then the cache repository has the upstream repository's name, without a
prefix ("Customizing repository prefixes for ECR to ECR pull through cache",
pull-through-cache-private-wildcards.html): every image of the rule's account and region
named by URI may be one. The cache actions are allowed on exactly the repository each image
names, never on a prefix.

The rules are read from the app's CDK objects for derivation (:func:`rules_of_app`) and from
the synthesized templates for their verification (:func:`rules_of_templates`); both match an
image with :func:`rule_for`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ROOT", "CacheRule", "rule_for", "rules_of_app", "rules_of_templates"]

#: The prefix of an ECR-to-ECR rule whose cache repositories have the upstream names.
ROOT = "ROOT"
# What a repository creation template is applied for, when it applies to cache rules.
_PULL_THROUGH_CACHE = "PULL_THROUGH_CACHE"
# A part of an ARN as text: written out, or shown as <...> (which may hold colons).
_PART = r"(?:<[^<>]*>|[^:<])*"
_REPOSITORY_ARN = re.compile(
    rf"arn:{_PART}:ecr:(?P<region>{_PART}):(?P<account>{_PART}):repository/(?P<name>.+)",
    re.DOTALL,
)


@dataclass(frozen=True)
class CacheRule:
    """A pull-through cache rule, as text (the account and region as the reader shows them).

    :param prefix: the rule's ECR repository prefix, without a trailing ``/``, or ``ROOT``.
    :param tagging: whether a repository creation template that applies to it adds tags.
    """

    prefix: str
    account: str
    region: str
    tagging: bool = False
    where: str = ""

    def covers(self, name: str) -> bool:
        return self.prefix == ROOT or name.startswith(f"{self.prefix}/")


def rule_for(rules: Sequence[CacheRule], repository_arn: str) -> CacheRule | None:
    """The rule an image of the repository ``repository_arn`` (text) is pulled through: the
    one of its account and region with the longest prefix that its name starts with."""
    if not rules:
        return None
    match = _REPOSITORY_ARN.fullmatch(repository_arn)
    if match is None:
        return None
    found = [
        rule
        for rule in rules
        if (rule.account, rule.region) == (match["account"], match["region"])
        and rule.covers(match["name"])
    ]
    # A named prefix is more precise than ROOT.
    return max(found, key=lambda r: -1 if r.prefix == ROOT else len(r.prefix), default=None)


def _prefix(value: Any) -> str | None:
    if not isinstance(value, str) or not value or "${Token[" in value:
        return None
    return value if value == ROOT else value.rstrip("/")


def _tagging(prefix: str, templates: Iterable[tuple[str, Sequence[str], bool]]) -> bool:
    """Whether the template that applies to repositories of ``prefix`` adds tags: the one of
    that prefix, else the ``ROOT`` one (the templates of the rule's account and region)."""
    applying = {
        template_prefix: tagged
        for template_prefix, applied_for, tagged in templates
        if _PULL_THROUGH_CACHE in applied_for
    }
    if prefix in applying:
        return applying[prefix]
    return applying.get(ROOT, False)


def _rules(
    rules: Iterable[tuple[Any, str, str, str]],
    templates: Iterable[tuple[Any, str, str, Sequence[str], bool]],
) -> list[CacheRule]:
    by_place: dict[tuple[str, str], list[tuple[str, Sequence[str], bool]]] = {}
    for prefix, account, region, applied_for, tagged in templates:
        template_prefix = _prefix(prefix)
        if template_prefix is not None:
            by_place.setdefault((account, region), []).append(
                (template_prefix, applied_for, tagged)
            )
    found = []
    for value, account, region, where in rules:
        prefix = _prefix(value)
        if prefix is not None:
            tagging = _tagging(prefix, by_place.get((account, region), ()))
            found.append(CacheRule(prefix, account, region, tagging, where))
    return found


def rules_of_app(constructs: Iterable[Any], shown: Callable[[str], str]) -> list[CacheRule]:
    """The rules among the app's constructs (``ecr.CfnPullThroughCacheRule``, with the
    ``ecr.CfnRepositoryCreationTemplate`` constructs that apply to them), their account and
    region as ``shown`` writes a CDK string."""
    # Imported here: the verification reads templates without aws-cdk-lib.
    import aws_cdk as cdk
    from aws_cdk import aws_ecr as ecr

    rules, templates = [], []
    for construct in constructs:
        stack = cdk.Stack.of(construct)
        place = (shown(stack.account), shown(stack.region))
        if isinstance(construct, ecr.CfnPullThroughCacheRule):
            rules.append((construct.ecr_repository_prefix, *place, construct.node.path))
        elif isinstance(construct, ecr.CfnRepositoryCreationTemplate):
            applied_for = [str(a) for a in construct.applied_for or []]
            tagged = bool(construct.resource_tags)
            templates.append((construct.prefix, *place, applied_for, tagged))
    return _rules(rules, templates)


def rules_of_templates(
    resources: Iterable[tuple[Any, str, str, str, dict[str, Any]]],
) -> list[CacheRule]:
    """The rules among the resources of synthesized templates: (type name, account, region,
    label, properties) each, the properties resolved."""
    rules, templates = [], []
    for type_name, account, region, label, properties in resources:
        if type_name == "AWS::ECR::PullThroughCacheRule":
            rules.append((properties.get("EcrRepositoryPrefix"), account, region, label))
        elif type_name == "AWS::ECR::RepositoryCreationTemplate":
            applied_for = properties.get("AppliedFor")
            templates.append(
                (
                    properties.get("Prefix"),
                    account,
                    region,
                    [str(a) for a in applied_for] if isinstance(applied_for, list) else [],
                    bool(properties.get("ResourceTags")),
                )
            )
    return _rules(rules, templates)
