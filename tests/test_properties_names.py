"""Property tests over names: every character AWS allows in each kind's names, and tokens in
every position of a name (``Lazy``, ``CfnParameter``, ``Fn.import_value``).

For each generated name the role, resolved as CloudFormation deploys it, allows the resource
and no neighbour of it; the packing bound is never below the resolved size, and within 1.1
times it when everything is concrete. Keys in many regions and long tags never give a
managed policy over IAM's 6,144 characters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from helpers import lazy, role_logical_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from iam_eval import Environment, is_allowed, role_policies

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole
from ecs_exec_roles._packing import MANAGED_POLICY_MAX_CHARS

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = "config-bucket"

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

# -- names with every character AWS allows -------------------------------------------------------

_ECR_PART = r"[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,6}){0,2}"
NAMES = {
    # ECR: lowercase parts joined by . _ -, namespaced with /.
    "repository": st.from_regex(rf"{_ECR_PART}(?:/{_ECR_PART}){{0,2}}", fullmatch=True),
    # CloudWatch Logs: letters, digits and . - _ / #.
    "log_group": st.from_regex(r"[.\-_/#A-Za-z0-9]{1,30}", fullmatch=True),
    # Secrets Manager: letters, digits and / _ + = . @ -.
    "secret": st.from_regex(r"[A-Za-z0-9/_+=.@-]{1,30}", fullmatch=True),
    # SSM: letters, digits and _ . - in /-separated parts.
    "parameter": st.from_regex(r"(?:/[A-Za-z0-9_.-]{1,10}){1,3}", fullmatch=True),
    # S3 object keys, less the IAM wildcards and "${" the role refuses.
    "s3_object": st.from_regex(r"[A-Za-z0-9!_.'()&@=;:+, /-]{1,30}", fullmatch=True).filter(
        lambda key: not key.startswith("/")
    ),
}


@dataclass(frozen=True)
class Named:
    """A name cut into parts, each written out or a token of some kind."""

    kind: str
    parts: tuple[tuple[str, str], ...]  # (how, text): how is literal, lazy, parameter, import

    @property
    def name(self) -> str:
        return "".join(text for _, text in self.parts)

    @property
    def concrete(self) -> bool:
        return all(how == "literal" for how, _ in self.parts)

    def build(self, stack: cdk.Stack) -> str:
        """The name as a CDK string, each part in its own form."""
        built = []
        for index, (how, text) in enumerate(self.parts):
            if how == "lazy":
                built.append(lazy(text))
            elif how == "parameter":
                built.append(cdk.CfnParameter(stack, f"Part{index}").value_as_string)
            elif how == "import":
                built.append(cdk.Fn.import_value(f"export-{index}"))
            else:
                built.append(text)
        return "".join(built)

    def environment(self) -> Environment:
        """The values CloudFormation gives the parts that are tokens in the template."""
        refs = {f"Part{i}": text for i, (how, text) in enumerate(self.parts) if how == "parameter"}
        imports = {
            f"export-{i}": text for i, (how, text) in enumerate(self.parts) if how == "import"
        }
        return Environment(refs=refs, imports=imports)


@st.composite
def named(draw: st.DrawFn, kind: str, tokens: bool = True) -> Named:
    name = draw(NAMES[kind])
    cuts = sorted(draw(st.sets(st.integers(1, max(len(name) - 1, 1)), max_size=2)))
    pieces = [name[a:b] for a, b in zip([0, *cuts], [*cuts, len(name)], strict=True)]
    kinds = ("literal", "lazy", "parameter", "import") if tokens else ("literal",)
    parts = tuple((draw(st.sampled_from(kinds)), piece) for piece in pieces if piece)
    return Named(kind, parts)


# -- the role, and what it must allow ------------------------------------------------------------


def _arn(kind: str, name: str) -> str:
    head = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:"
    return {
        "repository": head.format("ecr") + f"repository/{name}",
        "log_group": head.format("logs") + f"log-group:{name}:log-stream:web/app/0123",
        "secret": head.format("secretsmanager") + f"secret:{name}-AbCdEf",
        "parameter": head.format("ssm") + f"parameter{name}",
        "s3_object": f"arn:aws:s3:::{BUCKET}/{name}",
    }[kind]


ACTIONS = {
    "repository": "ecr:BatchGetImage",
    "log_group": "logs:PutLogEvents",
    "secret": "secretsmanager:GetSecretValue",
    "parameter": "ssm:GetParameters",
    "s3_object": "s3:GetObject",
}


def _props(stack: cdk.Stack, kind: str, name: str) -> dict[str, Any]:
    if kind == "repository":
        return {"repositories": [ecr.Repository.from_repository_name(stack, "R", name)]}
    if kind == "log_group":
        group = logs.LogGroup.from_log_group_name(stack, "L", name)
        return {"log_groups": [group], "log_stream_prefixes": ["web"]}
    if kind == "secret":
        return {"secrets": [secretsmanager.Secret.from_secret_name_v2(stack, "S", name)]}
    if kind == "parameter":
        parameter = ssm.StringParameter.from_string_parameter_attributes(
            stack, "P", parameter_name=name, simple_name=False
        )
        return {"parameters": [parameter]}
    bucket = s3.Bucket.from_bucket_name(stack, "B", BUCKET)
    return {"environment_files": [ecs.EnvironmentFile.from_bucket(bucket, name)]}


def _neighbours(kind: str, name: str) -> set[str]:
    """Names next to ``name`` that the role must not allow."""
    found = {name + "a", name + "0", "a" + name, name + "/x", name.swapcase()}
    if len(name) > 1:
        found |= {name[:-1], name[1:]}
    if kind == "parameter":
        found |= {name.removeprefix("/"), name + "/x"}
    return {n for n in found if n and n != name}


def _synthesize(stack: cdk.Stack) -> dict[str, Any]:
    return cdk.App.of(stack).synth().get_stack_by_name(stack.stack_name).template  # type: ignore[union-attr]


def _resolved_sizes(template: dict[str, Any], env: Environment) -> list[int]:
    from testkit.cfn import resolve

    return [
        len(json.dumps(resolve(r["Properties"]["PolicyDocument"], env), separators=(",", ":")))
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
    ]


def _check_name(example: Named, construct: Callable[..., Any]) -> None:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region=REGION))
    role = construct(
        stack, "Role", derive=False, **_props(stack, example.kind, example.build(stack))
    )
    template = _synthesize(stack)
    env = example.environment()
    policies = role_policies(template, role_logical_id(stack, role), env)
    action = ACTIONS[example.kind]
    # An S3 read is allowed from the bucket's owner only (the stack's account here).
    context = {"aws:ResourceAccount": ACCOUNT} if example.kind == "s3_object" else None
    assert is_allowed(policies, action, _arn(example.kind, example.name), context), example
    for neighbour in _neighbours(example.kind, example.name):
        assert not is_allowed(policies, action, _arn(example.kind, neighbour), context), (
            example,
            neighbour,
        )
    # The packing bound: never below what IAM counts, close to it when nothing is unknown.
    bound = role._entry.synthesis.total_chars
    resolved = sum(_resolved_sizes(template, env))
    assert bound >= resolved, example
    if example.concrete:
        assert bound <= 1.1 * resolved, (example, bound, resolved)


@pytest.mark.parametrize("kind", sorted(NAMES))
@pytest.mark.parametrize("construct", [MinimalExecutionRole, SharedExecutionRole])
def test_every_allowed_character_and_token_position_names_exactly_one_resource(
    kind: str, construct: Callable[..., Any]
) -> None:
    @SETTINGS
    @given(named(kind))
    def check(example: Named) -> None:
        _check_name(example, construct)

    check()


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_the_bound_of_concrete_names_is_within_a_tenth_of_their_size(kind: str) -> None:
    @settings(SETTINGS, max_examples=8)
    @given(named(kind, tokens=False))
    def check(example: Named) -> None:
        _check_name(example, MinimalExecutionRole)

    check()


# -- conditions: keys in many regions, tags ----------------------------------------------------

_REGIONS = st.from_regex(
    r"(?:ap|eu|us|sa|me|af|ca|il)-(?:north|south|east|west|central)-[1-9]", fullmatch=True
)
_TAG_KEY = st.from_regex(r"[\w.:/=+\-@ ]{1,128}", fullmatch=True).filter(
    lambda key: key.strip() == key and "\n" not in key
)
_TAG_VALUE = st.from_regex(r"[\w.:/=+\-@ ]{0,256}", fullmatch=True).filter(lambda v: "\n" not in v)


@settings(SETTINGS, max_examples=10)
@given(
    st.lists(_REGIONS, min_size=1, max_size=60),
    st.dictionaries(_TAG_KEY, _TAG_VALUE, max_size=8),
)
def test_no_managed_policy_exceeds_the_quota_with_keys_in_many_regions_and_tags(
    regions: list[str], tags: dict[str, str]
) -> None:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account=ACCOUNT, region=REGION))
    keys = [
        kms.Key.from_key_arn(
            stack,
            f"Key{index}",
            f"arn:aws:kms:{region}:{ACCOUNT}:key/{index:08d}-1111-2222-3333-444444444444",
        )
        for index, region in enumerate(regions)
    ]
    role = SharedExecutionRole(stack, "Role", keys=keys, resource_tags=tags or None)
    try:
        template = _synthesize(stack)
    except RuntimeError as error:
        # Too large for the policies the role may have, or for any one policy: said so.
        assert "more than a managed policy holds" in str(error) or "managed policies of" in str(
            error
        )
        return
    sizes = _resolved_sizes(template, Environment())
    assert max(sizes) <= MANAGED_POLICY_MAX_CHARS
    assert role._entry.synthesis.total_chars >= sum(sizes)
