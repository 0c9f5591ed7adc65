"""Every bad input fails early, with ExecutionRoleError naming the bad value and the fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm

from ecs_exec_roles import (
    ExecutionRoleError,
    MinimalExecutionRole,
    SharedExecutionRole,
    StarterExecutionRole,
)

ACCOUNT = "123456789012"
REGION = "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"
CONSTRUCTS = {
    "minimal": MinimalExecutionRole,
    "shared": SharedExecutionRole,
    "starter": StarterExecutionRole,
}


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Stack", env=cdk.Environment(account=ACCOUNT, region=REGION))


def _once(stack: cdk.Stack, id: str, make: Callable[[], Any]) -> Any:
    """The construct ``id`` of the stack, made on first use: helpers may be called twice."""
    return stack.node.try_find_child(id) or make()


def repository(stack: cdk.Stack, name: str = "app") -> ecr.IRepository:
    id = f"Repo-{name}".replace("/", "_")
    return _once(stack, id, lambda: ecr.Repository.from_repository_name(stack, id, name))  # type: ignore[no-any-return]


def log_group(stack: cdk.Stack, name: str = "/ecs/app") -> logs.ILogGroup:
    id = f"Logs-{name}".replace("/", "_")
    return _once(stack, id, lambda: logs.LogGroup.from_log_group_name(stack, id, name))  # type: ignore[no-any-return]


def secret(stack: cdk.Stack, name: str = "db") -> secretsmanager.ISecret:
    id = f"Secret-{name}".replace("/", "_")
    return _once(stack, id, lambda: secretsmanager.Secret.from_secret_name_v2(stack, id, name))  # type: ignore[no-any-return]


def parameter(stack: cdk.Stack, name: str = "/app/db") -> ssm.IStringParameter:
    id = f"Param-{name}".replace("/", "_")
    return _once(  # type: ignore[no-any-return]
        stack, id, lambda: ssm.StringParameter.from_string_parameter_name(stack, id, name)
    )


def key(stack: cdk.Stack, arn: str = KEY_ARN) -> kms.IKey:
    id = "Key-" + arn.rsplit(":", 1)[-1].replace("/", "_")
    return _once(stack, id, lambda: kms.Key.from_key_arn(stack, id, arn))  # type: ignore[no-any-return]


def topic(stack: cdk.Stack) -> sns.ITopic:
    return sns.Topic(stack, "Topic")


# Each case: (id, construct kinds it applies to, props built from a stack, message fragments).
Props = Callable[[cdk.Stack], dict[str, Any]]
ALL = ("minimal", "shared", "starter")
SCOPED = ("minimal", "shared")

CASES: list[tuple[str, tuple[str, ...], Props, tuple[str, ...]]] = [
    # A string where a CDK object is expected, in every prop.
    (
        "repositories-string",
        SCOPED,
        lambda s: {"repositories": ["app"]},
        ("repositories[0] is 'app' (str)", "ecr.IRepository", "from_repository_name"),
    ),
    (
        "log_groups-string",
        SCOPED,
        lambda s: {"log_groups": ["/ecs/app"]},
        ("log_groups[0] is '/ecs/app' (str)", "logs.ILogGroup", "from_log_group_name"),
    ),
    (
        "secrets-string",
        ALL,
        lambda s: {"secrets": ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"]},
        ("secrets[0] is 'arn:aws:secretsmanager:", "secretsmanager.ISecret", "from_secret_name_v2"),
    ),
    (
        "parameters-string",
        ALL,
        lambda s: {"parameters": ["/app/db"]},
        ("parameters[0] is '/app/db' (str)", "ssm.IParameter", "from_string_parameter_name"),
    ),
    (
        "keys-string",
        ALL,
        lambda s: {"keys": [KEY_ARN]},
        (f"keys[0] is {KEY_ARN!r} (str)", "kms.IKey", "Key.from_key_arn"),
    ),
    (
        "registry_credentials-string",
        ALL,
        lambda s: {"registry_credentials": [secret(s), "dockerhub"]},
        ("registry_credentials[1] is 'dockerhub' (str)", "secretsmanager.ISecret"),
    ),
    (
        "keys-token-string",
        ALL,
        lambda s: {"keys": [cdk.CfnParameter(s, "KeyArn").value_as_string]},
        ("keys[0] is '${Token[", "kms.IKey", "Key.from_key_arn"),
    ),
    # Something that is not a sequence.
    (
        "repositories-single-object",
        SCOPED,
        lambda s: {"repositories": repository(s)},
        ("repositories is the construct 'Stack/Repo-app', not a sequence", "repositories=[obj]"),
    ),
    (
        "log_groups-single-object",
        SCOPED,
        lambda s: {"log_groups": log_group(s)},
        ("log_groups is the construct 'Stack/Logs-_ecs_app'", "log_groups=[obj]"),
    ),
    (
        "secrets-single-object",
        ALL,
        lambda s: {"secrets": secret(s)},
        ("secrets is the construct 'Stack/Secret-db', not a sequence", "secrets=[obj]"),
    ),
    (
        "parameters-single-object",
        ALL,
        lambda s: {"parameters": parameter(s)},
        ("parameters is the construct 'Stack/Param-_app_db'", "parameters=[obj]"),
    ),
    (
        "keys-single-object",
        ALL,
        lambda s: {"keys": key(s)},
        ("keys is the construct", "not a sequence", "keys=[obj]"),
    ),
    (
        "repositories-single-string",
        SCOPED,
        lambda s: {"repositories": "app"},
        ("repositories is 'app' (str), not a sequence", "repositories=[obj]"),
    ),
    (
        "secrets-name-ending-like-a-suffix",
        ALL,
        lambda s: {"secrets": [secret(s, "prod/db-abcdef")]},
        (
            "secrets[0] (Stack/Secret-prod_db-abcdef) has the ARN",
            "names the secret by 'prod/db-abcdef', a name ending in a hyphen and six characters",
            "secretsmanager.Secret.from_secret_complete_arn",
        ),
    ),
    (
        "log-groups-of-another-account",
        SCOPED,
        lambda s: {
            "log_groups": [
                logs.LogGroup.from_log_group_arn(
                    s, "Central", "arn:aws:logs:eu-west-1:210987654321:log-group:/central:*"
                )
            ]
        },
        (
            "log_groups[0] (Stack/Central) is the log group '/central' of account 210987654321",
            "in the task's own account (123456789012)",
        ),
    ),
    (
        "secrets-mapping",
        ALL,
        lambda s: {"secrets": {"DB": secret(s)}},
        ("secrets is {'DB':", "(dict), not a sequence", "secrets=[obj]"),
    ),
    # The wrong kind of object, or nothing.
    (
        "secrets-topic",
        ALL,
        lambda s: {"secrets": [topic(s)]},
        ("secrets[0] is the construct 'Stack/Topic'", "not a secretsmanager.ISecret"),
    ),
    (
        "repositories-log-group",
        SCOPED,
        lambda s: {"repositories": [log_group(s)]},
        ("repositories[0] is the construct 'Stack/Logs-_ecs_app'", "not a ecr.IRepository"),
    ),
    (
        "keys-secret",
        ALL,
        lambda s: {"keys": [secret(s)]},
        ("keys[0] is the construct 'Stack/Secret-db'", "not a kms.IKey"),
    ),
    (
        "parameters-none",
        ALL,
        lambda s: {"parameters": [parameter(s), None]},
        ("parameters[1] is None (NoneType)", "ssm.IParameter"),
    ),
    # A KMS alias where a key is needed.
    (
        "keys-alias",
        ALL,
        lambda s: {"keys": [kms.Alias.from_alias_name(s, "Alias", "alias/app")]},
        ("keys[0] is the KMS alias 'alias/app'", "never the alias ARN", "Key.from_key_arn"),
    ),
    (
        "keys-alias-arn",
        ALL,
        lambda s: {"keys": [key(s, ALIAS_ARN)]},
        (f"keys[0] is the KMS alias {ALIAS_ARN!r}", "Key.from_key_arn"),
    ),
    (
        "secret-encryption-key-alias",
        ALL,
        lambda s: {
            "secrets": [
                secretsmanager.Secret.from_secret_attributes(
                    s,
                    "Encrypted",
                    secret_partial_arn=f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db",
                    encryption_key=kms.Alias.from_alias_name(s, "Alias", "alias/app"),
                )
            ]
        },
        ("the encryption key of secrets[0] is the KMS alias 'alias/app'", "Key.from_key_arn"),
    ),
    (
        "keys-not-a-key-arn",
        ALL,
        lambda s: {"keys": [key(s, f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db")]},
        ("keys[0]", "secret:db'", "is not a KMS key ARN", "key/<key-id>"),
    ),
    # IAM wildcards in names would grant every resource the pattern matches.
    (
        "repositories-wildcard",
        SCOPED,
        lambda s: {"repositories": [repository(s, "app*")]},
        (
            "repositories[0] (Stack/Repo-app*)",
            "'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/app*'",
            "wildcard",
            "exact name",
        ),
    ),
    (
        "log_groups-wildcard",
        SCOPED,
        lambda s: {"log_groups": [log_group(s, "/ecs/*")]},
        ("log_groups[0]", "log-group:/ecs/*:*'", "wildcard"),
    ),
    (
        "secrets-wildcard",
        ALL,
        lambda s: {"secrets": [secret(s, "db?")]},
        ("secrets[0]", "secret:db?", "wildcard"),
    ),
    (
        "parameters-wildcard",
        ALL,
        lambda s: {"parameters": [parameter(s, "/app/*")]},
        ("parameters[0]", "parameter/app/*", "wildcard"),
    ),
    (
        "keys-wildcard",
        ALL,
        lambda s: {"keys": [key(s, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*")]},
        ("keys[0]", "key/*", "wildcard"),
    ),
    (
        "repositories-uppercase",
        SCOPED,
        lambda s: {"repositories": [repository(s, "App")]},
        (
            "repositories[0]",
            "the name 'App', which is not a valid ECR repository name",
            "lowercase",
        ),
    ),
    # Role settings.
    (
        "role-name-space",
        ALL,
        lambda s: {"role_name": "my role"},
        ("role_name 'my role' is not a valid IAM role name", "+=,.@_-"),
    ),
    (
        "role-name-too-long",
        ALL,
        lambda s: {"role_name": "r" * 65},
        (f"role_name {'r' * 65!r}", "1 to 64"),
    ),
    ("role-name-empty", ALL, lambda s: {"role_name": ""}, ("role_name ''", "1 to 64")),
    (
        "role-name-slash",
        ALL,
        lambda s: {"role_name": "ecs/exec"},
        ("role_name 'ecs/exec'", "not a valid IAM role name"),
    ),
    ("path-relative", ALL, lambda s: {"path": "ecs/"}, ("path 'ecs/'", "'/ecs/'")),
    ("path-no-trailing", ALL, lambda s: {"path": "/ecs"}, ("path '/ecs'", "end with '/'")),
    ("path-empty", ALL, lambda s: {"path": ""}, ("path ''", "start and end with '/'")),
    ("path-space", ALL, lambda s: {"path": "/e cs/"}, ("path '/e cs/'", "printable ASCII")),
    (
        "path-too-long",
        ALL,
        lambda s: {"path": "/" + "a" * 511 + "/"},
        ("is not a valid IAM path", "at most 512"),
    ),
    (
        "trust-all-regions-without-conditions",
        ALL,
        lambda s: {"trust_all_regions": True, "trust_conditions": False},
        ("trust_all_regions=True", "trust_conditions=False", "Set only one of them"),
    ),
    (
        "max-managed-policies-zero",
        ALL,
        lambda s: {"max_managed_policies": 0},
        ("max_managed_policies is 0", "1 to 25", "Pass an int in that range"),
    ),
    (
        "max-managed-policies-too-many",
        ALL,
        lambda s: {"max_managed_policies": 26},
        ("max_managed_policies is 26", "1 to 25"),
    ),
    (
        "max-managed-policies-negative",
        ALL,
        lambda s: {"max_managed_policies": -1},
        ("max_managed_policies is -1",),
    ),
    (
        "max-managed-policies-bool",
        ALL,
        lambda s: {"max_managed_policies": True},
        ("max_managed_policies is True",),
    ),
    (
        "max-managed-policies-float",
        ALL,
        lambda s: {"max_managed_policies": 5.0},
        ("max_managed_policies is 5.0",),
    ),
    (
        "max-managed-policies-string",
        ALL,
        lambda s: {"max_managed_policies": "10"},
        ("max_managed_policies is '10'",),
    ),
]


def _params() -> list[Any]:
    params = []
    for case_id, kinds, props, fragments in CASES:
        for kind in kinds:
            params.append(pytest.param(kind, props, fragments, id=f"{kind}-{case_id}"))
    return params


@pytest.mark.parametrize(("kind", "props", "fragments"), _params())
def test_fails_when_input_is_bad(kind: str, props: Props, fragments: tuple[str, ...]) -> None:
    stack = new_stack()
    with pytest.raises(ExecutionRoleError) as raised:
        CONSTRUCTS[kind](stack, "Role", **props(stack))
    assert isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert message.startswith("Stack/Role: ")
    for fragment in fragments:
        assert fragment in message


def _switch(prop: str, value: str) -> str:
    return (
        f"{prop} is {value} (str), not True or False. Pass a bool; a value read from the "
        f"context is a string, so compare it, for example "
        f"{prop}=(app.node.try_get_context('...') == 'true')."
    )


_PATH_RULE = (
    "is not a valid IAM path. It must start and end with '/', for example '/ecs/', and be at "
    "most 512 printable ASCII characters, with no empty part ('//')."
)
_NAME_RULE = (
    "is not a valid IAM role name. Use 1 to 64 letters, digits or the characters +=,.@_-, or "
    "leave role_name unset to let CloudFormation generate one."
)
_DESCRIPTION_RULE = (
    "is not a valid IAM role description. Use at most 1,000 characters: printable ASCII, "
    "Latin-1 letters, tabs and line breaks."
)
_TAG_RULE = (
    "tag keys and values are strings of letters, digits, spaces and _ . : / = + - @ "
    "(no '*' or '?')."
)
_STREAM_RULE = (
    "a stream prefix is the awslogs-stream-prefix of the containers, made of letters, digits "
    "and . _ / # - (no '*', '?' or ':')."
)

# Values of the wrong type or form: (id, construct kinds, props, the whole message after
# "Stack/Role: ").
EXACT_CASES: list[tuple[str, tuple[str, ...], Props, str]] = [
    # A string from the context is truthy: every switch takes only a bool.
    *(
        (f"{prop}-string", kinds, lambda s, p=prop: {p: "false"}, _switch(prop, "'false'"))
        for prop, kinds in (
            ("derive", ALL),
            ("trust_conditions", ALL),
            ("trust_all_regions", ALL),
            ("guardduty_runtime_monitoring", SCOPED),
            ("container_assets", ALL),
            ("firelens_default_router", SCOPED),
        )
    ),
    (
        "pull_through_cache_tagging-string",
        ALL,
        lambda s: {"pull_through_cache_tagging": "false", "pull_through_cache_prefixes": ["hub"]},
        _switch("pull_through_cache_tagging", "'false'"),
    ),
    (
        "container_assets-int",
        ALL,
        lambda s: {"container_assets": 1},
        _switch("container_assets", "1").replace("1 (str)", "1 (int)"),
    ),
    # Names and paths: a trailing newline, other scripts, control characters, empty parts.
    (
        "role-name-newline",
        ALL,
        lambda s: {"role_name": "app\n"},
        f"role_name 'app\\n' {_NAME_RULE}",
    ),
    ("role-name-non-ascii", ALL, lambda s: {"role_name": "rôle"}, f"role_name 'rôle' {_NAME_RULE}"),
    ("role-name-int", ALL, lambda s: {"role_name": 7}, f"role_name 7 {_NAME_RULE}"),
    ("path-double-slash", ALL, lambda s: {"path": "//"}, f"path '//' {_PATH_RULE}"),
    ("path-empty-part", ALL, lambda s: {"path": "/a//b/"}, f"path '/a//b/' {_PATH_RULE}"),
    ("path-newline", ALL, lambda s: {"path": "/ecs/\n"}, f"path '/ecs/\\n' {_PATH_RULE}"),
    ("path-control", ALL, lambda s: {"path": "/a\x01/"}, f"path '/a\\x01/' {_PATH_RULE}"),
    (
        "description-too-long",
        ALL,
        lambda s: {"description": "d" * 1001},
        f"description {'d' * 40!r}... (1001 characters) {_DESCRIPTION_RULE}",
    ),
    (
        "description-outside-charset",
        ALL,
        lambda s: {"description": "costs €"},
        f"description 'costs €' {_DESCRIPTION_RULE}",
    ),
    (
        "description-control",
        ALL,
        lambda s: {"description": "a\x00b"},
        f"description 'a\\x00b' {_DESCRIPTION_RULE}",
    ),
    ("description-int", ALL, lambda s: {"description": 5}, f"description 5 {_DESCRIPTION_RULE}"),
    (
        "permissions-boundary-string",
        ALL,
        lambda s: {"permissions_boundary": "arn:aws:iam::123456789012:policy/b"},
        "permissions_boundary is 'arn:aws:iam::123456789012:policy/b' (str), not an "
        "iam.IManagedPolicy. Pass a managed policy, for example "
        "iam.ManagedPolicy.from_managed_policy_name(scope, 'Boundary', 'name').",
    ),
    (
        "log-stream-prefix-newline",
        SCOPED,
        lambda s: {"log_groups": [log_group(s)], "log_stream_prefixes": ["web\n"]},
        f"log_stream_prefixes[0] is 'web\\n'; {_STREAM_RULE}",
    ),
    (
        "pull-through-prefix-newline",
        ALL,
        lambda s: {"pull_through_cache_prefixes": ["docker-hub\n"]},
        "pull_through_cache_prefixes[0] is 'docker-hub\\n'; an ECR pull-through cache rule "
        "prefix is 2 to 30 lowercase letters, digits and . _ - /, as ECR accepts it (for "
        "example 'docker-hub' or 'team/docker-hub'), or 'ROOT'.",
    ),
    *(
        (
            f"{prop}-newline",
            ("shared",),
            lambda s, p=prop: {p: ["team/\n"]},
            f"{prop}[0] is 'team/\\n'; a name prefix is letters, digits and . _ / + = @ # - "
            "(no '*', '?' or ':'), for example 'team/'.",
        )
        for prop in (
            "repository_prefixes",
            "log_group_prefixes",
            "secret_prefixes",
            "parameter_prefixes",
        )
    ),
    (
        "parameter-prefix-root",
        ("shared",),
        lambda s: {"parameter_prefixes": ["/team/", "/"]},
        "parameter_prefixes[1] is '/', which would name every SSM parameter of the account and "
        "region; give the path the parameters share, for example '/team/'.",
    ),
    (
        "tag-key-newline",
        ("shared",),
        lambda s: {"resource_tags": {"team\n": "a"}},
        f"resource_tags has 'team\\n': 'a'; {_TAG_RULE}",
    ),
    (
        "tag-value-newline",
        ("shared",),
        lambda s: {"resource_tags": {"team": "a\n"}},
        f"resource_tags has 'team': 'a\\n'; {_TAG_RULE}",
    ),
    (
        "tag-value-control",
        ("shared",),
        lambda s: {"resource_tags": {"team": "a\x07"}},
        f"resource_tags has 'team': 'a\\x07'; {_TAG_RULE}",
    ),
    # A generator is read once: a second reader would grant less.
    *(
        (
            f"{prop}-generator",
            kinds,
            lambda s, p=prop: {p: (value for value in ())},
            f"{prop} is a generator, which can be read only once; pass a list, for example "
            f"{prop}=list(...).",
        )
        for prop, kinds in (
            ("repositories", SCOPED),
            ("log_groups", SCOPED),
            ("secrets", ALL),
            ("parameters", ALL),
            ("keys", ALL),
            ("registry_credentials", ALL),
            ("environment_files", ALL),
            ("image_assets", ALL),
            ("pull_through_cache_prefixes", ALL),
        )
    ),
]


@pytest.mark.parametrize(
    ("kind", "props", "message"),
    [
        pytest.param(kind, props, message, id=f"{kind}-{case_id}")
        for case_id, kinds, props, message in EXACT_CASES
        for kind in kinds
    ],
)
def test_fails_when_input_has_the_wrong_type_or_form(kind: str, props: Props, message: str) -> None:
    stack = new_stack()
    with pytest.raises(ExecutionRoleError) as raised:
        CONSTRUCTS[kind](stack, "Role", **props(stack))
    assert str(raised.value) == f"Stack/Role: {message}"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda role: role.add_family("api\n"),
            "family 'api\\n' is not an ECS task definition family; use 1 to 255 letters, "
            "digits, hyphens and underscores, the same as the task definition's family.",
        ),
        (
            lambda role: role.add_resources(container_assets="true"),
            _switch("container_assets", "'true'"),
        ),
        (
            lambda role: role.add_family("api", secrets=iter(())),
            "secrets is a tuple_iterator, which can be read only once; pass a list, for "
            "example secrets=list(...).",
        ),
    ],
    ids=["family-newline", "switch-string", "iterator"],
)
def test_fails_when_a_shared_role_call_has_the_wrong_form(call: Any, message: str) -> None:
    stack = new_stack()
    role = SharedExecutionRole(stack, "Role")
    with pytest.raises(ExecutionRoleError) as raised:
        call(role)
    assert str(raised.value) == f"Stack/Role: {message}"


@pytest.mark.parametrize(
    ("add", "prop"),
    [
        (lambda role, s: role.add_repositories(repository(s)), "repositories"),
        (lambda role, s: role.add_log_groups(log_group(s)), "log_groups"),
        (lambda role, s: role.add_secrets(secret(s)), "secrets"),
        (lambda role, s: role.add_parameters(parameter(s)), "parameters"),
        (lambda role, s: role.add_keys(key(s)), "keys"),
        (lambda role, s: role.add_resources(), "nothing"),
    ],
    ids=["repositories", "log_groups", "secrets", "parameters", "keys", "nothing"],
)
def test_fails_when_resources_are_added_after_synth(add: Any, prop: str) -> None:
    stack = new_stack()
    role = SharedExecutionRole(stack, "Role", repositories=[repository(stack, "first")])
    cdk.App.of(stack).synth()  # type: ignore[union-attr]
    with pytest.raises(ExecutionRoleError, match=r"^Stack/Role: resources were added after"):
        add(role, stack)


@pytest.mark.parametrize(
    ("add", "fragments"),
    [
        (lambda role, s: role.add_repositories("app"), ("repositories[0] is 'app' (str)",)),
        (
            lambda role, s: role.add_secrets(topic(s)),
            ("secrets[0] is the construct 'Stack/Topic'",),
        ),
        (
            lambda role, s: role.add_keys(kms.Alias.from_alias_name(s, "A", "alias/x")),
            ("keys[0] is the KMS alias 'alias/x'",),
        ),
        (
            lambda role, s: role.add_resources(log_groups=log_group(s)),
            ("log_groups is the construct", "log_groups=[obj]"),
        ),
    ],
    ids=["string", "wrong-kind", "alias", "single-object"],
)
def test_fails_when_shared_role_is_given_bad_input_later(
    add: Any, fragments: tuple[str, ...]
) -> None:
    stack = new_stack()
    role = SharedExecutionRole(stack, "Role")
    with pytest.raises(ExecutionRoleError) as raised:
        add(role, stack)
    for fragment in fragments:
        assert fragment in str(raised.value)


# -- synth-time failures: the app grants the role what its props do not cover -----------------


def _join(tail: str) -> str:
    return "arn:<AWS::Partition>" + tail


def _with_container(stack: cdk.Stack, role: MinimalExecutionRole, **container: Any) -> None:
    task = ecs.FargateTaskDefinition(stack, "Task", execution_role=role.role)
    options: dict[str, Any] = {"image": ecs.ContainerImage.from_registry("public.ecr.aws/x/y")}
    options.update(container)
    task.add_container("app", **options)


SYNTH_CASES = [
    pytest.param(
        lambda s: {"image": ecs.ContainerImage.from_ecr_repository(repository(s))},
        [
            (
                "ecr:BatchCheckLayerAvailability, ecr:GetDownloadUrlForLayer, ecr:BatchGetImage",
                _join(f":ecr:{REGION}:{ACCOUNT}:repository/app"),
                "repositories",
                3,
            ),
            ("ecr:GetAuthorizationToken", "*", "repositories", 1),
        ],
        id="ecr-repository",
    ),
    pytest.param(
        lambda s: {"logging": ecs.LogDriver.aws_logs(stream_prefix="web", log_group=log_group(s))},
        [
            (
                "logs:CreateLogStream, logs:PutLogEvents",
                _join(f":logs:{REGION}:{ACCOUNT}:log-group:/ecs/app:*"),
                "log_groups",
                2,
            )
        ],
        id="awslogs",
    ),
    pytest.param(
        lambda s: {"secrets": {"DB": ecs.Secret.from_secrets_manager(secret(s))}},
        [
            (
                "secretsmanager:GetSecretValue",
                _join(f":secretsmanager:{REGION}:{ACCOUNT}:secret:db-??????"),
                "secrets",
                1,
            )
        ],
        id="secret",
    ),
    pytest.param(
        lambda s: {"secrets": {"DB": ecs.Secret.from_ssm_parameter(parameter(s))}},
        [
            (
                "ssm:GetParameters",
                _join(f":ssm:{REGION}:{ACCOUNT}:parameter/app/db"),
                "parameters",
                1,
            )
        ],
        id="parameter",
    ),
]


@pytest.mark.parametrize(("container", "gaps"), SYNTH_CASES)
def test_fails_when_empty_role_serves_a_task_that_needs(
    container: Callable[[cdk.Stack], dict[str, Any]], gaps: list[tuple[str, str, str, int]]
) -> None:
    stack = new_stack()
    role = MinimalExecutionRole(stack, "Role", derive=False)
    _with_container(stack, role, **container(stack))
    with pytest.raises(RuntimeError) as raised:
        cdk.App.of(stack).synth()  # type: ignore[union-attr]
    message = str(raised.value)
    # One message for the role, naming its construct path and each uncovered permission,
    # one line per resource in the form cdk-nag names resources.
    assert message.count("Stack/Role: the execution role does not cover") == 1
    assert f"does not cover {sum(count for *_, count in gaps)} permission(s)" in message
    for actions, resource, prop, _ in gaps:
        assert f"  - {actions} on {resource}: add the resource to `{prop}`" in message
    assert "Fn::Join" not in message


def test_fails_when_role_covers_only_part_of_the_task() -> None:
    stack = new_stack()
    role = MinimalExecutionRole(stack, "Role", derive=False, repositories=[repository(stack)])
    _with_container(
        stack,
        role,
        image=ecs.ContainerImage.from_ecr_repository(repository(stack)),
        secrets={"DB": ecs.Secret.from_secrets_manager(secret(stack))},
    )
    with pytest.raises(RuntimeError) as raised:
        cdk.App.of(stack).synth()  # type: ignore[union-attr]
    message = str(raised.value)
    assert "does not cover 1 permission(s)" in message
    assert "secretsmanager:GetSecretValue" in message
    assert "ecr:BatchGetImage" not in message


def test_role_that_covers_the_task_synthesizes() -> None:
    stack = new_stack()
    role = MinimalExecutionRole(
        stack,
        "Role",
        repositories=[repository(stack)],
        log_groups=[log_group(stack)],
        secrets=[secret(stack)],
        parameters=[parameter(stack)],
    )
    _with_container(
        stack,
        role,
        image=ecs.ContainerImage.from_ecr_repository(repository(stack)),
        logging=ecs.LogDriver.aws_logs(stream_prefix="web", log_group=log_group(stack)),
        secrets={
            "DB": ecs.Secret.from_secrets_manager(secret(stack)),
            "P": ecs.Secret.from_ssm_parameter(parameter(stack)),
        },
    )
    template = cdk.App.of(stack).synth().get_stack_by_name("Stack").template  # type: ignore[union-attr]
    policies = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    assert [s["Sid"] for p in policies for s in p["PolicyDocument"]["Statement"]] == [
        "EcrAuthorizationToken",
        "EcrImagePull",
        "LogsWrite",
        "SecretsRead",
        "ParametersRead",
    ]
    # aws-cdk-lib's grants were recorded, not added: no inline policy on the role.
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda s: "/ecs/app", "log_groups_to_create[0] is '/ecs/app' (str)"),
        (lambda s: log_group(s, "/ecs/*"), "log_groups_to_create[0] (Stack/Logs-_ecs_*)"),
    ],
    ids=["string", "wildcard"],
)
def test_fails_when_log_groups_to_create_is_bad_and_names_that_prop(
    make: Callable[[cdk.Stack], Any], fragment: str
) -> None:
    stack = new_stack()
    with pytest.raises(ExecutionRoleError) as raised:
        MinimalExecutionRole(
            stack,
            "Role",
            log_groups=[log_group(stack, "/ecs/other")],
            log_groups_to_create=[make(stack)],
        )
    assert fragment in str(raised.value)
