"""Property tests for the feature props: S3 files, log group creation and stream scoping, the
ECR pull-through cache and the GuardDuty agent.

As in ``test_properties``, each example gives the role resources whose names are prefixes and
near neighbours of each other, synthesizes it in a stack with a concrete account and region, and
evaluates its policies with ``iam_eval`` against a model: a request is allowed exactly when it is
one ECS makes for something the role was given. A shared role gets its props spread over the
constructor and ``add_resources`` calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from iam_eval import Environment, is_allowed, role_policies

from ecs_exec_roles import (
    ExecutionRoleError,
    MinimalExecutionRole,
    S3File,
    SharedExecutionRole,
)
from ecs_exec_roles._aws_repositories import GUARDDUTY_AGENT_ACCOUNTS, GUARDDUTY_AGENT_REPOSITORY

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

ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")
LOG_WRITES = ("logs:CreateLogStream", "logs:PutLogEvents")
TASK_ID = "0123456789abcdef0123456789abcdef"

# -- building and checking a role -------------------------------------------------------------

Props = dict[str, Any]


@dataclass
class Built:
    """What a test's builder returns: the props of each call, and values for the intrinsics."""

    calls: list[Props]
    refs: dict[str, str]
    attributes: dict[str, dict[str, str]]


def _logical_id(stack: cdk.Stack, construct: Any) -> str:
    return str(stack.resolve(construct.node.default_child.logical_id))


def _policies(
    build: Callable[[cdk.Stack], Built],
    *,
    shared: bool,
    region: str = REGION,
    guardduty: bool = False,
) -> list[dict[str, Any]]:
    """Synthesize the role ``build`` describes and return its resolved policies.

    A minimal role takes the one call's props; a shared role takes the first call in its
    constructor and each further one through ``add_resources``.
    """
    app = cdk.App()
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=region))
    built = build(stack)
    role: Any
    if shared:
        role = SharedExecutionRole(
            stack, "Role", guardduty_runtime_monitoring=guardduty, **built.calls[0]
        )
        for props in built.calls[1:]:
            role.add_resources(**props)
    else:
        (props,) = built.calls
        role = MinimalExecutionRole(stack, "Role", guardduty_runtime_monitoring=guardduty, **props)
    template = assertions.Template.from_stack(stack).to_json()
    env = Environment(
        partition="aws",
        region=region,
        account=ACCOUNT,
        refs=built.refs,
        attributes=built.attributes,
    )
    return role_policies(template, _logical_id(stack, role.role), env)


Verdicts = list[tuple[str, str, bool]]


def _check(
    policies: list[dict[str, Any]], verdicts: Verdicts, context: dict[str, str] | None = None
) -> None:
    wrong = sorted(
        f"{'allowed' if not expected else 'denied'}: {action} on {resource}"
        for action, resource, expected in verdicts
        if is_allowed(policies, action, resource, context) is not expected
    )
    assert not wrong, f"{len(wrong)} wrong verdicts:\n" + "\n".join(wrong[:25])


def _calls(draw: st.DrawFn, shared: bool, items: list[Any]) -> list[list[Any]]:
    """Spread ``items`` over one call (minimal role) or one to three calls (shared role)."""
    if not shared:
        return [items]
    count = draw(st.integers(1, 3))
    return [[item for i, item in enumerate(items) if i % count == call] for call in range(count)]


def _neighbours(name: str, extra: Iterable[str] = ()) -> set[str]:
    """Names a character or a separator away from ``name``: longer, shorter, other case."""
    found = {name + "a", name + "-a", name + ".a", name + "/a", "a" + name, name.upper(), *extra}
    if len(name) > 1:
        found.update({name[:-1], name[1:]})
    return {n for n in found if n}


# -- environment files and FireLens configuration files in S3 ---------------------------------


@dataclass(frozen=True)
class S3Spec:
    bucket: str
    key: str
    # Given as an S3File in firelens_config_files, else as an environment file.
    firelens: bool
    # A bucket of the stack: its name reaches the policy as a Ref.
    own: bool


# Bucket names that are prefixes of each other: "app", "appa", "app-a", "app.a", ...
_BUCKET = (
    st.text(alphabet="a-.", max_size=3)
    .map(lambda tail: "app" + tail)
    .filter(lambda b: not b.endswith(("-", ".")) and not re.search(r"\.\.|\.-|-\.", b))
)
_KEY = st.lists(st.text(alphabet="ab", min_size=1, max_size=2), min_size=1, max_size=3).flatmap(
    lambda words: st.sampled_from(["/", ".", ""]).map(lambda sep: sep.join(words))
)


@dataclass(frozen=True)
class S3Example:
    calls: list[list[S3Spec]]
    shared: bool


@st.composite
def s3_examples(draw: st.DrawFn) -> S3Example:
    specs = draw(
        st.lists(
            st.builds(
                S3Spec,
                _BUCKET,
                st.one_of(_KEY, _KEY.map(lambda k: k + ".env")),
                st.booleans(),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        )
    )
    # One bucket of the stack per name: CloudFormation names each bucket once.
    owned: set[str] = set()
    for i, spec in enumerate(specs):
        if spec.own and spec.bucket in owned:
            specs[i] = replace(spec, own=False)
        elif spec.own:
            owned.add(spec.bucket)
    shared = draw(st.booleans())
    return S3Example(_calls(draw, shared, specs), shared)


def _build_s3(example: S3Example) -> Callable[[cdk.Stack], Built]:
    def build(stack: cdk.Stack) -> Built:
        refs: dict[str, str] = {}
        calls: list[Props] = []
        index = 0
        for specs in example.calls:
            props: Props = {"environment_files": [], "firelens_config_files": []}
            for spec in specs:
                index += 1
                bucket: s3.IBucket
                if spec.own:
                    bucket = s3.Bucket(stack, f"Own{index}", bucket_name=spec.bucket)
                    refs[_logical_id(stack, bucket)] = spec.bucket
                else:
                    bucket = s3.Bucket.from_bucket_name(stack, f"Bucket{index}", spec.bucket)
                if spec.firelens:
                    props["firelens_config_files"].append(S3File(bucket=bucket, key=spec.key))
                else:
                    props["environment_files"].append(
                        ecs.EnvironmentFile.from_bucket(bucket, spec.key)
                    )
            calls.append(props)
        return Built(calls, refs, {})

    return build


def _s3_verdicts(example: S3Example) -> Verdicts:
    objects = {(spec.bucket, spec.key) for specs in example.calls for spec in specs}
    buckets = {bucket for bucket, _ in objects}
    keys = {key for _, key in objects}
    # A bucket name holds no "/": "app/a" would be the object "a" of the bucket "app".
    candidate_buckets = {
        n for b in buckets for n in _neighbours(b, [b, b + "s", b + "-config"]) if "/" not in n
    }
    candidate_keys = {
        n
        for k in keys
        for n in _neighbours(k, [k, k + ".env", "/" + k, k + "/", k.rsplit("/", 1)[0] + "/"])
    }
    out: Verdicts = [("ecr:GetAuthorizationToken", "*", False)]
    for bucket in candidate_buckets:
        bucket_arn = f"arn:aws:s3:::{bucket}"
        out.append(("s3:GetBucketLocation", bucket_arn, bucket in buckets))
        out.append(("s3:ListBucket", bucket_arn, False))
        out.append(("s3:GetBucketPolicy", bucket_arn, False))
        out.append(("s3:GetObject", bucket_arn, False))
        for key in candidate_keys:
            arn = f"{bucket_arn}/{key}"
            out.append(("s3:GetObject", arn, (bucket, key) in objects))
            if (bucket, key) in objects:
                for action in ("s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion"):
                    out.append((action, arn, False))
                out.append(("s3:GetBucketLocation", arn, False))
                # The same bucket and key in another partition.
                out.append(("s3:GetObject", f"arn:aws-cn:s3:::{bucket}/{key}", False))
    return out


@SETTINGS
@given(s3_examples())
def test_s3_files_allow_exactly_their_objects_and_buckets(example: S3Example) -> None:
    policies = _policies(_build_s3(example), shared=example.shared)
    verdicts = _s3_verdicts(example)
    # Every bucket, of the stack or imported by name, is owned by the stack's account: each
    # read is allowed from that owner only.
    _check(policies, verdicts, {"aws:ResourceAccount": ACCOUNT})
    _check(
        policies, [(a, r, False) for a, r, _ in verdicts], {"aws:ResourceAccount": OTHER_ACCOUNT}
    )
    _check(policies, [(a, r, False) for a, r, _ in verdicts])


# -- log groups to create, and stream prefixes -------------------------------------------------


@dataclass(frozen=True)
class GroupSpec:
    name: str
    account: str
    region: str
    # In log_groups_to_create (awslogs-create-group), else in log_groups.
    create: bool
    # A log group of the stack: its name and ARN reach the policy as Ref and Fn::GetAtt.
    own: bool


@dataclass(frozen=True)
class LogCall:
    groups: tuple[GroupSpec, ...]
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class LogExample:
    calls: list[LogCall]
    shared: bool


_WORD = st.text(alphabet="ab", min_size=1, max_size=3)
_GROUP_NAME = st.tuples(st.sampled_from(["", "/ecs/"]), _WORD).map("".join)
# Stream prefixes that are prefixes of each other: "a", "ab", "a/b", "a-b", ...
_STREAM_PREFIX = st.lists(_WORD, min_size=1, max_size=2).flatmap(
    lambda words: st.sampled_from(["/", "-", "."]).map(lambda sep: sep.join(words))
)


@st.composite
def _group(draw: st.DrawFn) -> GroupSpec:
    own = draw(st.booleans())
    # The role's account only: awslogs writes to the task's own (another account's fails).
    places = [place for place in PLACES if place[0] == ACCOUNT]
    account, region = HOME if own else draw(st.sampled_from(places))
    return GroupSpec(draw(_GROUP_NAME), account, region, draw(st.booleans()), own)


@st.composite
def log_examples(draw: st.DrawFn) -> LogExample:
    shared = draw(st.booleans())
    calls = []
    owned: set[str] = set()
    for _ in range(draw(st.integers(1, 3)) if shared else 1):
        groups = []
        for spec in draw(st.lists(_group(), min_size=1, max_size=3)):
            # One log group of the stack per name, as CloudFormation requires.
            if spec.own and spec.name in owned:
                spec = replace(spec, own=False)
            if spec.own:
                owned.add(spec.name)
            groups.append(spec)
        prefixes = tuple(draw(st.lists(_STREAM_PREFIX, max_size=2)))
        calls.append(LogCall(tuple(groups), prefixes))
    return LogExample(calls, shared)


def _build_logs(example: LogExample) -> Callable[[cdk.Stack], Built]:
    def build(stack: cdk.Stack) -> Built:
        refs: dict[str, str] = {}
        attributes: dict[str, dict[str, str]] = {}
        calls: list[Props] = []
        index = 0
        for call in example.calls:
            props: Props = {"log_groups": [], "log_groups_to_create": []}
            for spec in call.groups:
                index += 1
                group: logs.ILogGroup
                if spec.own:
                    group = logs.LogGroup(stack, f"Own{index}", log_group_name=spec.name)
                    logical_id = _logical_id(stack, group)
                    refs[logical_id] = spec.name
                    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{spec.name}:*"
                    attributes[logical_id] = {"Arn": arn}
                elif (spec.account, spec.region) == HOME:
                    group = logs.LogGroup.from_log_group_name(stack, f"Group{index}", spec.name)
                else:
                    arn = f"arn:aws:logs:{spec.region}:{spec.account}:log-group:{spec.name}:*"
                    group = logs.LogGroup.from_log_group_arn(stack, f"Group{index}", arn)
                props["log_groups_to_create" if spec.create else "log_groups"].append(group)
            if call.prefixes:
                props["log_stream_prefixes"] = list(call.prefixes)
            calls.append(props)
        return Built(calls, refs, attributes)

    return build


def _log_verdicts(example: LogExample) -> Verdicts:
    # Per group, the stream prefixes it may write under; None: any stream of the group.
    written: dict[tuple[str, str, str], set[str] | None] = {}
    created: set[tuple[str, str, str]] = set()
    for call in example.calls:
        for spec in call.groups:
            place = (spec.account, spec.region, spec.name)
            if spec.create:
                created.add(place)
            before = written.get(place, set())
            if before is None or not call.prefixes:
                written[place] = None
            else:
                written[place] = before | set(call.prefixes)

    def stream_allowed(place: tuple[str, str, str], stream: str) -> bool:
        if place not in written:
            return False
        prefixes = written[place]
        return prefixes is None or any(stream.startswith(p + "/") for p in prefixes)

    granted_prefixes = {p for call in example.calls for p in call.prefixes}
    # Streams ECS names prefix/container/task-id, under each granted prefix and its neighbours
    # ("api" granted: "apix/...", "ap/...", "xapi/..." and a bare "api" stream).
    candidate_prefixes = {n for p in granted_prefixes for n in _neighbours(p, [p])} | {"web"}
    full_streams = {f"{p}/app/{TASK_ID}" for p in candidate_prefixes} | candidate_prefixes
    short_streams = {f"{p}/app/{TASK_ID}" for p in granted_prefixes | {"web"}}

    out: Verdicts = [("ecr:GetAuthorizationToken", "*", False)]
    for account_, region_, name_ in written:
        for name in _neighbours(name_, [name_, name_.lstrip("/"), "/ecs/" + name_]):
            for account, region in {*PLACES, (OTHER_ACCOUNT, OTHER_REGION), (account_, region_)}:
                place = (account, region, name)
                group = f"arn:aws:logs:{region}:{account}:log-group:{name}"
                out.append(("logs:CreateLogGroup", group, place in created))
                out.append(("logs:DeleteLogGroup", group, False))
                out.append(("logs:PutRetentionPolicy", group, False))
                out.append(("logs:PutLogEvents", group, False))
                streams = full_streams if place in written else short_streams
                for stream in streams:
                    arn = f"{group}:log-stream:{stream}"
                    for action in LOG_WRITES:
                        out.append((action, arn, stream_allowed(place, stream)))
                    out.append(("logs:GetLogEvents", arn, False))
                    out.append(("logs:DeleteLogStream", arn, False))
    return out


@SETTINGS
@given(log_examples())
def test_log_groups_allow_creation_and_writes_under_exactly_their_prefixes(
    example: LogExample,
) -> None:
    policies = _policies(_build_logs(example), shared=example.shared)
    _check(policies, _log_verdicts(example))


# -- the ECR pull-through cache and the GuardDuty agent ----------------------------------------


@dataclass(frozen=True)
class CacheCall:
    prefixes: tuple[str, ...]
    tagging: bool


@dataclass(frozen=True)
class CacheExample:
    region: str
    guardduty: bool
    calls: list[CacheCall]
    shared: bool


# Cache rule prefixes that are prefixes of each other: "ab", "aba", "a-b", "a.b", ...
_CACHE_PREFIX = (
    st.lists(st.text(alphabet="ab", min_size=1, max_size=3), min_size=1, max_size=2)
    .flatmap(lambda words: st.sampled_from(["-", ".", "_", ""]).map(lambda sep: sep.join(words)))
    .filter(lambda p: len(p) >= 2)
)


@st.composite
def cache_examples(draw: st.DrawFn) -> CacheExample:
    shared = draw(st.booleans())
    calls = []
    for _ in range(draw(st.integers(1, 3)) if shared else 1):
        prefixes = tuple(draw(st.lists(_CACHE_PREFIX, max_size=2)))
        calls.append(CacheCall(prefixes, bool(prefixes) and draw(st.booleans())))
    region = draw(st.sampled_from(sorted(GUARDDUTY_AGENT_ACCOUNTS)))
    return CacheExample(region, draw(st.booleans()), calls, shared)


def _build_cache(example: CacheExample) -> Callable[[cdk.Stack], Built]:
    def build(stack: cdk.Stack) -> Built:
        calls = [
            {
                "pull_through_cache_prefixes": list(call.prefixes),
                "pull_through_cache_tagging": call.tagging,
            }
            for call in example.calls
        ]
        return Built(calls, {}, {})

    return build


def _cache_verdicts(example: CacheExample) -> Verdicts:
    region = example.region
    prefixes = {p for call in example.calls for p in call.prefixes}
    tagged = {p for call in example.calls if call.tagging for p in call.prefixes}
    agent_account = GUARDDUTY_AGENT_ACCOUNTS[region]
    agent = (agent_account, region, GUARDDUTY_AGENT_REPOSITORY)
    other_region = next(r for r in sorted(GUARDDUTY_AGENT_ACCOUNTS) if r != region)

    def under(names: set[str], account: str, region_: str, repository: str) -> bool:
        return (account, region_) == (ACCOUNT, region) and any(
            repository.startswith(p + "/") for p in names
        )

    out: Verdicts = [
        ("ecr:GetAuthorizationToken", "*", bool(prefixes) or example.guardduty),
    ]
    repositories: set[tuple[str, str, str]] = set()
    # Cached repositories under each prefix and its neighbours; the prefix itself, no slash.
    for prefix in {n for p in prefixes for n in _neighbours(p, [p, p + "_a"])}:
        repositories.update(
            (account, region_, name)
            for name in (prefix, f"{prefix}/nginx", f"{prefix}/library/nginx")
            for account, region_ in (
                (ACCOUNT, region),
                (OTHER_ACCOUNT, region),
                (ACCOUNT, other_region),
            )
        )
    # The GuardDuty agent repository of every region, and its neighbours in this one.
    repositories.update(
        (account, region_, GUARDDUTY_AGENT_REPOSITORY)
        for region_, account in GUARDDUTY_AGENT_ACCOUNTS.items()
    )
    repositories.update(
        {
            (GUARDDUTY_AGENT_ACCOUNTS[other_region], region, GUARDDUTY_AGENT_REPOSITORY),
            (agent_account, other_region, GUARDDUTY_AGENT_REPOSITORY),
            (ACCOUNT, region, GUARDDUTY_AGENT_REPOSITORY),
            (agent_account, region, GUARDDUTY_AGENT_REPOSITORY + "/sidecar"),
            (agent_account, region, GUARDDUTY_AGENT_REPOSITORY + "x"),
            (agent_account, region, "aws-guardduty-agent"),
        }
    )
    for account, region_, name in repositories:
        arn = f"arn:aws:ecr:{region_}:{account}:repository/{name}"
        cached = under(prefixes, account, region_, name)
        pull = cached or (example.guardduty and (account, region_, name) == agent)
        for action in ECR_PULL:
            out.append((action, arn, pull))
        out.append(("ecr:BatchImportUpstreamImage", arn, cached))
        out.append(("ecr:CreateRepository", arn, cached))
        out.append(("ecr:TagResource", arn, under(tagged, account, region_, name)))
        for action in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:DeleteRepository"):
            out.append((action, arn, False))
        out.append(("ecr:SetRepositoryPolicy", arn, False))
    return out


@SETTINGS
@given(cache_examples())
def test_pull_through_cache_and_guardduty_allow_exactly_their_repositories(
    example: CacheExample,
) -> None:
    policies = _policies(
        _build_cache(example),
        shared=example.shared,
        region=example.region,
        guardduty=example.guardduty,
    )
    _check(policies, _cache_verdicts(example))


# -- every feature at once -----------------------------------------------------------------------


def _everything(stack: cdk.Stack) -> Built:
    bucket = s3.Bucket.from_bucket_name(stack, "Config", "app-config")
    own_bucket = s3.Bucket(stack, "OwnBucket", bucket_name="app-own")
    own_group = logs.LogGroup(stack, "OwnGroup", log_group_name="/ecs/own")
    first: Props = {
        "repositories": [ecr.Repository.from_repository_name(stack, "Repo", "app")],
        "log_groups": [
            logs.LogGroup.from_log_group_name(stack, "Group", "/ecs/app"),
            own_group,
        ],
        "secrets": [secretsmanager.Secret.from_secret_name_v2(stack, "Secret", "db")],
        "parameters": [ssm.StringParameter.from_string_parameter_name(stack, "Param", "/app")],
        "environment_files": [
            ecs.EnvironmentFile.from_bucket(bucket, "api/app.env"),
            ecs.EnvironmentFile.from_bucket(own_bucket, "app.env"),
        ],
        "log_stream_prefixes": ["api"],
        "pull_through_cache_prefixes": ["docker-hub"],
        "pull_through_cache_tagging": True,
    }
    second: Props = {
        "firelens_config_files": [S3File(bucket=bucket, key="fluent-bit.conf")],
        "log_groups_to_create": [logs.LogGroup.from_log_group_name(stack, "New", "/ecs/new")],
        "log_stream_prefixes": ["worker"],
        "pull_through_cache_prefixes": ["ghcr"],
    }
    refs = {_logical_id(stack, own_bucket): "app-own", _logical_id(stack, own_group): "/ecs/own"}
    own_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/own:*"
    return Built([first, second], refs, {_logical_id(stack, own_group): {"Arn": own_arn}})


def _everything_once(stack: cdk.Stack) -> Built:
    built = _everything(stack)
    first, second = built.calls
    merged = {**first, **second, "log_stream_prefixes": ["api", "worker"]}
    merged["pull_through_cache_prefixes"] = ["docker-hub", "ghcr"]
    merged["pull_through_cache_tagging"] = True
    return Built([merged], built.refs, built.attributes)


@pytest.mark.parametrize("shared", [False, True], ids=["minimal", "shared"])
def test_a_role_with_every_feature_names_its_resources(shared: bool) -> None:
    policies = _policies(_everything if shared else _everything_once, shared=shared, guardduty=True)
    statements = [s for policy in policies for s in policy["Statement"]]
    star = [s["Sid"] for s in statements if "*" in _as_list(s["Resource"])]
    assert star == ["EcrAuthorizationToken"]
    assert len({s["Sid"] for s in statements}) >= 9
    # Every other wildcard is the tail of a name the role was given.
    for statement in statements:
        if statement["Sid"] == "EcrAuthorizationToken":
            continue
        for resource in _as_list(statement["Resource"]):
            head = resource.removesuffix("/*").removesuffix(":*").removesuffix("-??????")
            assert "*" not in head and "?" not in head, (statement["Sid"], resource)
    assert is_allowed(
        policies,
        "ecr:TagResource",
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/docker-hub/library/nginx",
    )
    # Tagging applies to the prefixes of its own call: "ghcr" is tagged only when merged.
    ghcr = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ghcr/org/app"
    assert is_allowed(policies, "ecr:TagResource", ghcr) is not shared
    assert is_allowed(
        policies,
        "logs:PutLogEvents",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/new:log-stream:worker/app/{TASK_ID}",
    )
    owned = {"aws:ResourceAccount": ACCOUNT}
    assert is_allowed(policies, "s3:GetObject", "arn:aws:s3:::app-own/app.env", owned)
    assert not is_allowed(policies, "s3:GetObject", "arn:aws:s3:::app-own/api/app.env", owned)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- what the role gets wrong ----------------------------------------------------------------------


def _iam_resource_matches(pattern: str, value: str) -> bool:
    """IAM's reading of a Resource with policy variables (version 2012-10-17).

    ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters; ``*`` and ``?`` are
    wildcards; any other ``${...}`` is a variable, which no request of a task execution role
    fills with the text written in the policy (the statement then does not match).
    """
    regex = ""
    position = 0
    while position < len(pattern):
        if pattern.startswith("${", position):
            end = pattern.find("}", position)
            inside = pattern[position + 2 : end] if end > 0 else ""
            if inside not in ("*", "?", "$"):
                return False
            regex += re.escape(inside)
            position = end + 1
            continue
        char = pattern[position]
        regex += ".*" if char == "*" else "." if char == "?" else re.escape(char)
        position += 1
    return re.fullmatch(regex, value, re.DOTALL) is not None


@pytest.mark.parametrize("firelens", [False, True], ids=["environment_file", "firelens"])
def test_fails_when_an_object_key_holds_a_policy_variable(firelens: bool) -> None:
    # IAM reads "${env}" in a Resource as a policy variable, so the grant would never match
    # the object ECS reads; the key is refused like the wildcards.
    key = "app-${env}.env"
    app = cdk.App()
    stack = cdk.Stack(app, "Stack", env=cdk.Environment(account=ACCOUNT, region=REGION))
    bucket = s3.Bucket.from_bucket_name(stack, "Config", "app-config")
    props: Props = (
        {"firelens_config_files": [S3File(bucket=bucket, key=key)]}
        if firelens
        else {"environment_files": [ecs.EnvironmentFile.from_bucket(bucket, key)]}
    )
    with pytest.raises(ExecutionRoleError, match=r"'app-\$\{env\}\.env'.*policy variable"):
        MinimalExecutionRole(stack, "Role", **props)


def test_a_pull_through_cache_prefix_may_hold_a_slash() -> None:
    example = CacheExample(REGION, False, [CacheCall(("team/docker-hub",), True)], False)
    policies = _policies(_build_cache(example), shared=False)
    _check(policies, _cache_verdicts(example))
    cached = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/docker-hub/library/nginx"
    assert is_allowed(policies, "ecr:BatchImportUpstreamImage", cached)
    assert not is_allowed(
        policies, "ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/x"
    )
