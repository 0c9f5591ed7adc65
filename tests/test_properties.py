"""Property tests: the synthesized role allows exactly what ECS needs, and nothing next to it.

Each example builds resources whose names are prefixes and near neighbours of each other,
spread over two accounts and two regions, synthesizes a role for them, and evaluates its
policies with ``iam_eval`` against a model: a request is allowed exactly when it is one ECS
makes for a resource that was given to the role.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from iam_eval import Environment, is_allowed, role_policies

from ecs_exec_roles import MinimalExecutionRole, SharedExecutionRole

ACCOUNT = "123456789012"
REGION = "eu-west-1"
OTHER_ACCOUNT = "210987654321"
OTHER_REGION = "us-east-1"
PLACES = ((ACCOUNT, REGION), (OTHER_ACCOUNT, REGION), (ACCOUNT, OTHER_REGION))
HOME = (ACCOUNT, REGION)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


# -- what a role is given -----------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One resource given to the role: where it is and how it was imported."""

    kind: str
    name: str
    account: str = ACCOUNT
    region: str = REGION
    # Secrets: the six-character suffix of a complete ARN, or "" for a partial ARN / name.
    suffix: str = ""
    # Secrets: index of the key in the example's keys that encrypts it, or -1.
    key: int = -1
    # Keys: given in the `keys` prop (else known to the role only as a secret's key, if at all).
    listed: bool = True


# Short names over a tiny alphabet: many of them are prefixes or near neighbours of others.
_WORD = st.text(alphabet="ab", min_size=1, max_size=3)
_NAME = st.lists(_WORD, min_size=1, max_size=2).flatmap(
    lambda words: st.sampled_from(["-", "/", "."]).map(lambda sep: sep.join(words))
)
_SUFFIX = st.text(alphabet=string.ascii_letters + string.digits, min_size=6, max_size=6)
_KEY_ID = st.sampled_from(
    [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "1234abcd-12ab-34cd-56ef-1234567890ac",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
    ]
)


@st.composite
def _repositories(draw: st.DrawFn) -> list[Spec]:
    names = draw(st.lists(_NAME, max_size=4))
    return [Spec("repository", name, *draw(st.sampled_from(PLACES))) for name in names]


@st.composite
def _log_groups(draw: st.DrawFn) -> list[Spec]:
    names = draw(st.lists(st.tuples(st.sampled_from(["", "/ecs/"]), _NAME), max_size=4))
    # The role's account only: awslogs writes to the task's own (another account's fails).
    return [
        Spec("log_group", prefix + name, *draw(st.sampled_from(_LOG_PLACES)))
        for prefix, name in names
    ]


_LOG_PLACES = tuple(place for place in PLACES if place[0] == ACCOUNT)


@st.composite
def _keys(draw: st.DrawFn) -> list[Spec]:
    ids = draw(st.lists(_KEY_ID, max_size=2, unique=True))
    return [
        Spec("key", key_id, *draw(st.sampled_from(PLACES)), listed=draw(st.booleans()))
        for key_id in ids
    ]


@st.composite
def _secrets(draw: st.DrawFn, keys: list[Spec]) -> list[Spec]:
    specs = []
    for name in draw(st.lists(_NAME.map(lambda n: n.replace("/", "-")), max_size=4)):
        complete = draw(st.booleans())
        account, region = draw(st.sampled_from(PLACES))
        # A key encrypts only secrets of its own region; ECS reads them through that region.
        # A secret of another account is read only through a customer managed key of its
        # account: without one, it is the role's account's.
        key_choices = [
            i for i, key in enumerate(keys) if key.region == region and key.account == account
        ]
        if account == ACCOUNT or not key_choices:
            account = ACCOUNT
            key_choices = [-1] + [i for i, key in enumerate(keys) if key.region == region]
        specs.append(
            Spec(
                "secret",
                name,
                account,
                region,
                suffix=draw(_SUFFIX) if complete else "",
                key=draw(st.sampled_from(key_choices)),
            )
        )
    return specs


@st.composite
def _parameters(draw: st.DrawFn) -> list[Spec]:
    specs = []
    for words in draw(st.lists(st.lists(_WORD, min_size=1, max_size=2), max_size=4)):
        # A parameter name holding "/" must start with one; a simple name may not.
        name = "/" + "/".join(words) if len(words) > 1 or draw(st.booleans()) else words[0]
        # Parameters shared from another account are imported by ARN, in the stack's region.
        account = draw(st.sampled_from([ACCOUNT, OTHER_ACCOUNT]))
        specs.append(Spec("parameter", name, account, REGION))
    return specs


@dataclass(frozen=True)
class Example:
    repositories: list[Spec]
    log_groups: list[Spec]
    secrets: list[Spec]
    parameters: list[Spec]
    keys: list[Spec]
    own_resources: bool


@st.composite
def examples(draw: st.DrawFn) -> Example:
    keys = draw(_keys())
    return Example(
        draw(_repositories()),
        draw(_log_groups()),
        draw(_secrets(keys)),
        draw(_parameters()),
        keys,
        draw(st.booleans()),
    )


# -- building the app ---------------------------------------------------------------------------


def _arn(service: str, account: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _key_arn(spec: Spec) -> str:
    return _arn("kms", spec.account, spec.region, f"key/{spec.name}")


def _import(stack: cdk.Stack, index: int, spec: Spec, keys: list[kms.IKey]) -> Any:
    home = (spec.account, spec.region) == HOME
    cid = f"{spec.kind}{index}"
    if spec.kind == "repository":
        if home:
            return ecr.Repository.from_repository_name(stack, cid, spec.name)
        arn = _arn("ecr", spec.account, spec.region, f"repository/{spec.name}")
        return ecr.Repository.from_repository_arn(stack, cid, arn)
    if spec.kind == "log_group":
        if home:
            return logs.LogGroup.from_log_group_name(stack, cid, spec.name)
        arn = _arn("logs", spec.account, spec.region, f"log-group:{spec.name}:*")
        return logs.LogGroup.from_log_group_arn(stack, cid, arn)
    if spec.kind == "secret":
        arn = _arn("secretsmanager", spec.account, spec.region, f"secret:{spec.name}")
        key = keys[spec.key] if spec.key >= 0 else None
        if spec.suffix:
            complete = f"{arn}-{spec.suffix}"
            if key is None:
                return secretsmanager.Secret.from_secret_complete_arn(stack, cid, complete)
            return secretsmanager.Secret.from_secret_attributes(
                stack, cid, secret_complete_arn=complete, encryption_key=key
            )
        if key is not None:
            return secretsmanager.Secret.from_secret_attributes(
                stack, cid, secret_partial_arn=arn, encryption_key=key
            )
        if home:
            return secretsmanager.Secret.from_secret_name_v2(stack, cid, spec.name)
        return secretsmanager.Secret.from_secret_partial_arn(stack, cid, arn)
    if spec.kind == "parameter":
        if home:
            return ssm.StringParameter.from_string_parameter_name(stack, cid, spec.name)
        arn = _arn("ssm", spec.account, spec.region, f"parameter/{spec.name.lstrip('/')}")
        return ssm.StringParameter.from_string_parameter_arn(stack, cid, arn)
    raise AssertionError(spec.kind)


OWN_REPOSITORY_ARN = _arn("ecr", ACCOUNT, REGION, "repository/own")
OWN_LOG_GROUP_ARN = _arn("logs", ACCOUNT, REGION, "log-group:own:*")


def synthesize(example: Example, shared: bool, derived: bool = False) -> list[dict[str, Any]]:
    """Build the role for ``example`` and return its resolved policies.

    :param derived: give the role nothing, and the resources to a task definition that uses
        it, as containers do: derivation must find each of them there.
    """
    app = cdk.App()
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=REGION))
    keys = [
        kms.Key.from_key_arn(stack, f"key{i}", _key_arn(spec))
        for i, spec in enumerate(example.keys)
    ]
    props: dict[str, list[Any]] = {
        "repositories": [_import(stack, i, s, keys) for i, s in enumerate(example.repositories)],
        "log_groups": [_import(stack, i, s, keys) for i, s in enumerate(example.log_groups)],
        "secrets": [_import(stack, i, s, keys) for i, s in enumerate(example.secrets)],
        "parameters": [_import(stack, i, s, keys) for i, s in enumerate(example.parameters)],
        "keys": [key for key, spec in zip(keys, example.keys, strict=True) if spec.listed],
    }
    attributes = {}
    refs: dict[str, str] = {}
    if example.own_resources:
        # Resources of the stack itself reach the policy as Fn::GetAtt.
        repository = ecr.Repository(stack, "OwnRepository", repository_name="own")
        log_group = logs.LogGroup(stack, "OwnLogGroup", log_group_name="own")
        props["repositories"].append(repository)
        props["log_groups"].append(log_group)
        for construct, arn in ((repository, OWN_REPOSITORY_ARN), (log_group, OWN_LOG_GROUP_ARN)):
            logical_id = stack.resolve(construct.node.default_child.logical_id)  # type: ignore[union-attr]
            attributes[logical_id] = {"Arn": arn}
            refs[logical_id] = "own"
    if derived:
        role: Any = (SharedExecutionRole if shared else MinimalExecutionRole)(stack, "Role")
        _use(stack, role, props)
    elif shared:
        # Half through the constructor, half through add_resources.
        first = {prop: values[::2] for prop, values in props.items()}
        rest = {prop: values[1::2] for prop, values in props.items()}
        role = SharedExecutionRole(stack, "Role", **first)
        role.add_resources(**rest)
    else:
        role = MinimalExecutionRole(stack, "Role", **props)
    template = assertions.Template.from_stack(stack).to_json()
    role_id = stack.resolve(role.role.node.default_child.logical_id)
    env = Environment(
        partition="aws", region=REGION, account=ACCOUNT, attributes=attributes, refs=refs
    )
    return role_policies(template, role_id, env)


def _use(stack: cdk.Stack, role: Any, props: dict[str, list[Any]]) -> None:
    """A task definition whose containers use every resource of ``props`` (keys only through
    the secrets they encrypt)."""
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    public = ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1")
    for index, repository in enumerate(props["repositories"]):
        task.add_container(
            f"image{index}", image=ecs.ContainerImage.from_ecr_repository(repository)
        )
    for index, log_group in enumerate(props["log_groups"]):
        logging = ecs.LogDrivers.aws_logs(stream_prefix="web", log_group=log_group)
        task.add_container(f"logs{index}", image=public, logging=logging)
    secrets = {
        **{f"S{i}": ecs.Secret.from_secrets_manager(s) for i, s in enumerate(props["secrets"])},
        **{f"P{i}": ecs.Secret.from_ssm_parameter(p) for i, p in enumerate(props["parameters"])},
    }
    task.add_container("secrets", image=public, secrets=secrets)


# -- the model: what ECS asks for, and whether it must be allowed --------------------------------


@dataclass(frozen=True)
class Ask:
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = ""


def _via(service: str, region: str) -> tuple[tuple[str, str], ...]:
    return (("kms:ViaService", f"{service}.{region}.amazonaws.com"),)


def _name_neighbours(name: str) -> set[str]:
    found = {name + "a", name + "b", name + "-a", name + "/a", name + ".a", "a" + name}
    if len(name) > 1:
        found.add(name[:-1])
        found.add(name[1:])
    if name.startswith("/"):
        found.add(name[1:])
    else:
        found.add("/" + name)
    found.add(name.upper())
    return {n for n in found if n and not n.endswith(("-", "/", ".")) and "//" not in n}


def _place_neighbours(spec: Spec) -> set[tuple[str, str]]:
    return {(spec.account, spec.region), *PLACES, (OTHER_ACCOUNT, OTHER_REGION)}


def asks(example: Example, derived: bool = False) -> list[tuple[Ask, bool]]:
    """Requests ECS makes for the given resources and for their neighbours, with the verdict
    the model expects.

    :param derived: the resources reached the role through the task that uses them: a key
        is needed only for the secrets it encrypts.
    """
    out: list[tuple[Ask, bool]] = []
    repositories = {(s.account, s.region, s.name) for s in example.repositories}
    log_groups = {(s.account, s.region, s.name) for s in example.log_groups}
    if example.own_resources:
        repositories.add((ACCOUNT, REGION, "own"))
        log_groups.add((ACCOUNT, REGION, "own"))

    out.append((Ask("ecr:GetAuthorizationToken", "*"), bool(repositories)))
    candidates = {
        (account, region, name)
        for account_, region_, granted in repositories
        for name in {granted, *_name_neighbours(granted)}
        for account, region in _place_neighbours(Spec("", "", account_, region_))
    }
    for account, region, name in candidates:
        arn = _arn("ecr", account, region, f"repository/{name}")
        granted = (account, region, name) in repositories
        for action in (
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        ):
            out.append((Ask(action, arn), granted))
        out.append((Ask("ecr:PutImage", arn), False))
        out.append((Ask("ecr:InitiateLayerUpload", arn), False))
        out.append((Ask("ecr:BatchGetImage", arn + "/sub"), False))

    candidates = {
        (account, region, name)
        for account_, region_, granted in log_groups
        for name in {granted, *_name_neighbours(granted)}
        for account, region in _place_neighbours(Spec("", "", account_, region_))
    }
    for account, region, name in candidates:
        group = _arn("logs", account, region, f"log-group:{name}")
        stream = f"{group}:log-stream:web/app/0123456789abcdef"
        granted = (account, region, name) in log_groups
        out.append((Ask("logs:CreateLogStream", stream), granted))
        out.append((Ask("logs:PutLogEvents", stream), granted))
        out.append((Ask("logs:CreateLogGroup", group), False))
        out.append((Ask("logs:DeleteLogGroup", group), False))
        out.append((Ask("logs:PutLogEvents", group), False))

    # A secret is named by ARN with a random six-character suffix. A complete ARN grants one
    # suffix; a partial ARN or a name grants the name with any suffix (the secret recreated).
    def secret_granted(account: str, region: str, name: str, suffix: str) -> bool:
        return any(
            (s.account, s.region, s.name) == (account, region, name) and s.suffix in ("", suffix)
            for s in example.secrets
        )

    for spec in example.secrets:
        suffixes = {spec.suffix or "AbCdEf", "ZyXwVu"}
        for name in {spec.name, *_name_neighbours(spec.name), spec.name + "-ZyXwVu"}:
            for account, region in _place_neighbours(spec):
                for suffix in suffixes:
                    arn = _arn("secretsmanager", account, region, f"secret:{name}-{suffix}")
                    out.append(
                        (
                            Ask("secretsmanager:GetSecretValue", arn),
                            secret_granted(account, region, name, suffix),
                        )
                    )
                    out.append((Ask("secretsmanager:DescribeSecret", arn), False))
                    out.append((Ask("secretsmanager:PutSecretValue", arn), False))
        # A short suffix or a longer one is not what Secrets Manager issues, but IAM must not
        # match it either.
        base = _arn("secretsmanager", spec.account, spec.region, f"secret:{spec.name}")
        out.append((Ask("secretsmanager:GetSecretValue", f"{base}-AbCdE"), False))
        out.append((Ask("secretsmanager:GetSecretValue", f"{base}-AbCdEfG"), False))
        out.append((Ask("secretsmanager:GetSecretValue", base), False))

    parameters = {(s.account, s.region, s.name.lstrip("/")) for s in example.parameters}
    for spec in example.parameters:
        for name in {spec.name, *_name_neighbours(spec.name)}:
            for account, region in _place_neighbours(spec):
                arn = _arn("ssm", account, region, f"parameter/{name.lstrip('/')}")
                granted = (account, region, name.lstrip("/")) in parameters
                out.append((Ask("ssm:GetParameters", arn), granted))
                out.append((Ask("ssm:GetParameter", arn), False))
                out.append((Ask("ssm:GetParametersByPath", arn), False))
                out.append((Ask("ssm:GetParameterHistory", arn), False))
            out.append((Ask("ssm:GetParameters", f"{arn}/child"), False))

    # kms:Decrypt through the services that use each key: keys given in `keys` serve secrets
    # and parameters; the key of a secret serves Secrets Manager.
    services: dict[str, set[str]] = {}
    for spec in example.keys:
        if spec.listed and not derived:
            services.setdefault(_key_arn(spec), set()).update({"secretsmanager", "ssm"})
    for spec in example.secrets:
        if spec.key >= 0:
            services.setdefault(_key_arn(example.keys[spec.key]), set()).add("secretsmanager")
    for spec in example.keys:
        for account, region in _place_neighbours(spec):
            for key_id in {spec.name, spec.name[:-1], spec.name + "0", "*"}:
                arn = _arn("kms", account, region, f"key/{key_id}")
                allowed = services.get(arn, set())
                for service in ("secretsmanager", "ssm", "s3", "sqs"):
                    for via_region in {region, REGION, OTHER_REGION}:
                        expected = service in allowed and via_region == region
                        out.append((Ask("kms:Decrypt", arn, _via(service, via_region)), expected))
                        out.append((Ask("kms:Encrypt", arn, _via(service, via_region)), False))
                        out.append(
                            (Ask("kms:GenerateDataKey", arn, _via(service, via_region)), False)
                        )
                out.append((Ask("kms:Decrypt", arn), False))
                alias = _arn("kms", account, region, "alias/app")
                out.append((Ask("kms:Decrypt", alias, _via("secretsmanager", region)), False))
    return out


def _check(example: Example, shared: bool, derived: bool = False) -> None:
    policies = synthesize(example, shared, derived)
    wrong = []
    for ask, expected in asks(example, derived):
        actual = is_allowed(policies, ask.action, ask.resource, dict(ask.context))
        if actual is not expected:
            wrong.append(f"{'allowed' if actual else 'denied'}: {ask}")
    assert not wrong, "\n".join(sorted(wrong)[:20])


@SETTINGS
@given(examples())
def test_minimal_role_allows_exactly_what_ecs_needs(example: Example) -> None:
    _check(example, shared=False)


@settings(SETTINGS, max_examples=15)
@given(examples())
def test_shared_role_allows_exactly_what_ecs_needs(example: Example) -> None:
    _check(example, shared=True)


def _task_account(example: Example) -> Example:
    # The awslogs driver writes only to log groups of the task's own account.
    log_groups = [spec for spec in example.log_groups if spec.account == ACCOUNT]
    return dataclasses.replace(example, log_groups=log_groups)


@settings(SETTINGS, max_examples=20)
@given(examples().map(_task_account))
def test_derived_minimal_role_allows_exactly_what_the_task_needs(example: Example) -> None:
    _check(example, shared=False, derived=True)


@settings(SETTINGS, max_examples=10)
@given(examples().map(_task_account))
def test_derived_shared_role_allows_exactly_what_the_task_needs(example: Example) -> None:
    _check(example, shared=True, derived=True)


@pytest.mark.parametrize("shared", [False, True], ids=["minimal", "shared"])
def test_role_with_nothing_allows_nothing(shared: bool) -> None:
    example = Example([], [], [], [], [], own_resources=False)
    policies = synthesize(example, shared)
    assert policies == []
    assert not is_allowed(policies, "ecr:GetAuthorizationToken", "*")


@pytest.mark.parametrize(
    "deploy",
    [
        Environment(partition="aws", region="eu-west-1", account=ACCOUNT),
        Environment(
            partition="aws-cn",
            region="cn-north-1",
            account=OTHER_ACCOUNT,
            url_suffix="amazonaws.com.cn",
        ),
    ],
    ids=["aws", "aws-cn"],
)
def test_environment_agnostic_role_follows_the_deploy_environment(deploy: Environment) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Stack")
    key = kms.Key(stack, "Key")
    own = secretsmanager.Secret(stack, "Own", encryption_key=key)
    role = MinimalExecutionRole(
        stack,
        "Role",
        repositories=[ecr.Repository.from_repository_name(stack, "Repo", "app")],
        log_groups=[logs.LogGroup.from_log_group_name(stack, "Logs", "/ecs/app")],
        secrets=[secretsmanager.Secret.from_secret_name_v2(stack, "Secret", "db"), own],
        parameters=[ssm.StringParameter.from_string_parameter_name(stack, "Param", "/app/db")],
    )
    template = assertions.Template.from_stack(stack).to_json()
    own_secret = (
        f"arn:{deploy.partition}:secretsmanager:{deploy.region}:{deploy.account}:secret:own-AbCdEf"
    )
    key_arn = f"arn:{deploy.partition}:kms:{deploy.region}:{deploy.account}:key/k"
    env = Environment(
        partition=deploy.partition,
        region=deploy.region,
        account=deploy.account,
        url_suffix=deploy.url_suffix,
        # A new secret's ARN is its Ref; a new key's ARN its Arn attribute.
        refs={stack.resolve(own.node.default_child.logical_id): own_secret},  # type: ignore[union-attr]
        attributes={stack.resolve(key.node.default_child.logical_id): {"Arn": key_arn}},  # type: ignore[union-attr]
    )
    policies = role_policies(template, stack.resolve(role.role.node.default_child.logical_id), env)  # type: ignore[union-attr]
    prefix = f"arn:{deploy.partition}"
    place = f"{deploy.region}:{deploy.account}"
    via = {"kms:ViaService": f"secretsmanager.{deploy.region}.{deploy.url_suffix}"}
    assert is_allowed(policies, "ecr:BatchGetImage", f"{prefix}:ecr:{place}:repository/app")
    stream = f"{prefix}:logs:{place}:log-group:/ecs/app:log-stream:web/app/1"
    assert is_allowed(policies, "logs:PutLogEvents", stream)
    secret = f"{prefix}:secretsmanager:{place}:secret:db-AbCdEf"
    assert is_allowed(policies, "secretsmanager:GetSecretValue", secret)
    assert is_allowed(policies, "secretsmanager:GetSecretValue", own_secret)
    assert is_allowed(policies, "ssm:GetParameters", f"{prefix}:ssm:{place}:parameter/app/db")
    assert is_allowed(policies, "kms:Decrypt", key_arn, via)
    # Another partition, the same names: denied.
    assert not is_allowed(
        policies, "ecr:BatchGetImage", f"arn:aws-us-gov:ecr:{place}:repository/app"
    )
    assert not is_allowed(policies, "secretsmanager:GetSecretValue", secret.replace("db-", "db-x-"))
    assert not is_allowed(policies, "secretsmanager:GetSecretValue", own_secret + "x")
    assert not is_allowed(
        policies,
        "kms:Decrypt",
        key_arn,
        {"kms:ViaService": f"ssm.{deploy.region}.{deploy.url_suffix}"},
    )
