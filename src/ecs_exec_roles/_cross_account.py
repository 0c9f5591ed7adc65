"""What other accounts must allow for a role to use their resources, per account.

A role's own policy is half of a cross-account permission: the resource's account must allow
the role too, in the resource's policy. For each resource of another account the role's
statements name, the statement that account adds, for exactly this role:

- an ECR repository: its repository policy allows the pull actions (``ecr:GetAuthorizationToken``
  comes from the role's own policy only; Amazon ECR User Guide, "Private repository policy
  examples in Amazon ECR");
- a Secrets Manager secret: its resource policy allows ``secretsmanager:GetSecretValue``, and
  the secret's key is a customer managed key ("Access AWS Secrets Manager secrets from a
  different account");
- a KMS key: its key policy allows ``kms:Decrypt`` through the services the role's own
  statement names (``kms:ViaService``);
- an S3 bucket (its owner, ``_buckets``): its bucket policy allows ``s3:GetObject`` on each file
  and ``s3:GetBucketLocation`` on the bucket;
- an SSM parameter: no resource policy; the other account shares it through AWS RAM (advanced
  tier only, its key a customer managed key; AWS Systems Manager User Guide, "Working with
  shared parameters").

Each role's list per account becomes a stack output (``CrossAccount<account>``, resolved at
deployment with the role's ARN) of the stack that holds the role's statements; the
verification writes the stack's outputs to ``<stack>.cross-account.json`` in the cloud
assembly (:func:`write_cross_account_files`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk

from ._cfn import flatten
from ._kinds import (
    ACCOUNT_ID,
    BUCKET_OWNER_KEY,
    ECR_PULL_ACTIONS,
    Kind,
    arn_account,
    kind_of_action,
)

if TYPE_CHECKING:
    from constructs import Construct

    from ._statements import Statement
    from ._template import Template

__all__ = [
    "OUTPUT_DESCRIPTION",
    "add_cross_account_outputs",
    "write_cross_account_files",
]

#: How the outputs start their description: the verification finds them by it.
OUTPUT_DESCRIPTION = "ecs-exec-roles: what account "
# The kinds whose resources may be of another account (a log group may not: ``_kinds``).
_OTHER_ACCOUNT_KINDS = (
    Kind.REPOSITORY,
    Kind.SECRET,
    Kind.PARAMETER,
    Kind.S3_OBJECT,
    Kind.S3_BUCKET,
    Kind.KEY,
)


def _grant(sid: str, role_arn: str, actions: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": list(actions) if len(actions) > 1 else actions[0],
        **extra,
    }


def _entry(statement: Statement, kind: Kind, resource: str, role_arn: str) -> dict[str, Any]:
    """What the owner of ``resource`` adds, for one resource of a statement of ``kind``."""
    if kind is Kind.REPOSITORY:
        policy, grant = "repository policy", _grant("EcsExecutionPull", role_arn, ECR_PULL_ACTIONS)
    elif kind is Kind.SECRET:
        policy = "secret resource policy"
        grant = _grant("EcsExecutionRead", role_arn, kind.actions, Resource="*")
    elif kind is Kind.KEY:
        policy = "key policy"
        grant = _grant(
            "EcsExecutionDecrypt",
            role_arn,
            kind.actions,
            Resource="*",
            Condition=statement.condition,
        )
    elif kind is Kind.PARAMETER:
        return {
            "resource": resource,
            "policy": "AWS RAM resource share",
            "share": "the parameter, with the role's account (an advanced-tier parameter; a "
            "SecureString's key must be a customer managed key the role may decrypt)",
        }
    else:
        policy = "bucket policy"
        sid = "EcsExecutionReadFile" if kind is Kind.S3_OBJECT else "EcsExecutionBucketLocation"
        grant = _grant(sid, role_arn, kind.actions, Resource=resource)
    return {"resource": resource, "policy": policy, "statement": grant}


def _elsewhere(
    statements: Sequence[Statement], account: str
) -> list[tuple[str, Statement, Kind, str]]:
    """Each resource of the statements whose account (an S3 bucket's owner) is written out
    and is not ``account`` (the role's; nothing when that is not written out): that account,
    the statement, its kind and the resource (a CDK string)."""
    found: list[tuple[str, Statement, Kind, str]] = []
    if not ACCOUNT_ID.fullmatch(account):
        return found
    for statement in statements:
        kind = kind_of_action(statement.actions[0].lower())
        if kind not in _OTHER_ACCOUNT_KINDS:
            continue
        owner = ""
        if kind in (Kind.S3_OBJECT, Kind.S3_BUCKET):
            condition = (statement.condition_resolved or {}).get("StringEquals", {})
            owner = condition.get(BUCKET_OWNER_KEY, "")
        for resource in statement.resources:
            other = owner or arn_account(flatten(resource.resolved))
            if ACCOUNT_ID.fullmatch(other) and other != account:
                found.append((other, statement, kind, resource.value))
    return found


def _entries(
    found: Sequence[tuple[str, Statement, Kind, str]], role_arn: str
) -> dict[str, list[dict[str, Any]]]:
    """What each other account adds for the role (its ARN a CDK string), by account."""
    entries: dict[str, list[dict[str, Any]]] = {}
    for other, statement, kind, resource in found:
        entries.setdefault(other, []).append(_entry(statement, kind, resource, role_arn))
    return entries


def add_cross_account_outputs(
    scope: Construct, role: Any, where: str, account: str, statements: Sequence[Statement]
) -> None:
    """A stack output under ``scope`` for each other account the statements reach."""
    found = _elsewhere(statements, account)
    if not found:
        return
    # The role's ARN and the stack are calls into aws-cdk-lib: made only when needed.
    entries = _entries(found, role.role_arn)
    stack = cdk.Stack.of(scope)
    for other, listed in sorted(entries.items()):
        cdk.CfnOutput(
            scope,
            f"CrossAccount{other}",
            description=(
                f"{OUTPUT_DESCRIPTION}{other} must allow for the execution role {where} "
                "(each resource's policy)"
            )[:1024],
            value=stack.to_json_string(listed),
        )


def write_cross_account_files(
    templates: Sequence[Template], text: Callable[[Template, Any], str | None]
) -> list[Path]:
    """``<stack>.cross-account.json`` beside each template whose outputs say what other
    accounts must allow: ``{account: [{resource, policy, statement}, ...]}``, the values the
    template cannot know shown as ``<...>``. Returns the files written."""
    written = []
    for template in templates:
        found: dict[str, list[Any]] = {}
        for output in template.outputs.values():
            description = str(output.get("Description", ""))
            if not description.startswith(OUTPUT_DESCRIPTION):
                continue
            other = description[len(OUTPUT_DESCRIPTION) :].split(" ", 1)[0]
            value = text(template, output.get("Value"))
            if value is not None:
                found.setdefault(other, []).extend(json.loads(value))
        if found and template.path:
            path = Path(template.path)
            target = path.with_name(path.name.replace(".template.json", ".cross-account.json"))
            target.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(target)
    return written
