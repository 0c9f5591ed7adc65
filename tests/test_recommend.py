"""The policy an audited role should have: the constructs' statements for exactly the
requests ECS makes, evaluated."""

from __future__ import annotations

from ecs_exec_roles._evaluate import Decision, Evaluator, Request
from ecs_exec_roles._recommend import granted_requests, recommended_policy, recommended_trust
from ecs_exec_roles._requests import LaunchNeed
from ecs_exec_roles._symbols import Symbols

ACCOUNT, REGION = "123456789012", "eu-west-1"
GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
VIA = f"secretsmanager.{REGION}.amazonaws.com"
OBJECT = "arn:aws:s3:::config/app.env"


def _need(
    resource: str, actions: tuple[str, ...], context: dict[str, str] | None = None
) -> LaunchNeed:
    requests = tuple(Request(action, resource, context or {}) for action in actions)
    return LaunchNeed("app", "a need", "prop", resource, requests)


NEEDS = [
    LaunchNeed(
        "app",
        "awslogs",
        "log_groups",
        f"{GROUP}:log-stream:web/app/*",
        tuple(
            Request(a, f"{GROUP}:log-stream:web/app/*")
            for a in ("logs:CreateLogStream", "logs:PutLogEvents")
        ),
        log_group=GROUP,
        stream_prefix="web",
    ),
    _need(SECRET, ("secretsmanager:GetSecretValue",)),
    _need(KEY, ("kms:Decrypt",), {"kms:ViaService": VIA}),
    _need(OBJECT, ("s3:GetObject",), {"aws:ResourceAccount": "210987654321"}),
]


def test_a_log_stream_is_allowed_by_its_prefix_as_the_constructs_write_it() -> None:
    (create, put) = granted_requests(NEEDS[0])
    assert create.resource == put.resource == f"{GROUP}:log-stream:web/*"
    assert granted_requests(NEEDS[1]) == NEEDS[1].requests


def test_the_policy_allows_each_need_with_its_conditions_and_nothing_else() -> None:
    policy = recommended_policy(NEEDS, Symbols(), url_suffix="amazonaws.com", account=ACCOUNT)
    assert [s["Sid"] for s in policy["Statement"]] == [
        "LogsWrite",
        "SecretsRead",
        "S3FilesRead",
        "KmsDecryptViaSecretsManager",
    ]
    evaluator = Evaluator([policy])
    for need in NEEDS:
        for request in need.requests:
            assert evaluator.evaluate(request) is Decision.ALLOW, request
    # The key only through Secrets Manager; the object only in its owner's bucket.
    assert evaluator.evaluate(Request("kms:Decrypt", KEY)) is Decision.IMPLICIT_DENY
    other_owner = Request("s3:GetObject", OBJECT, {"aws:ResourceAccount": ACCOUNT})
    assert evaluator.evaluate(other_owner) is Decision.IMPLICIT_DENY
    assert evaluator.evaluate(Request("logs:PutLogEvents", f"{GROUP}:log-stream:x")) is (
        Decision.IMPLICIT_DENY
    )


def test_the_trust_policy_names_one_region_or_any() -> None:
    one = recommended_trust("aws", [REGION, REGION], ACCOUNT, Symbols())
    condition = one["Statement"][0]["Condition"]
    assert condition["ArnLike"]["aws:SourceArn"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"
    several = recommended_trust("aws", [REGION, "us-east-1"], ACCOUNT, Symbols())
    assert several["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == (
        f"arn:aws:ecs:*:{ACCOUNT}:*"
    )
    without = recommended_trust("aws", [REGION], ACCOUNT, Symbols(), conditions=False)
    assert "Condition" not in without["Statement"][0]
