"""Template values resolved to text (``_template``): pseudo parameters, references to resources
and parameters, the ARNs of resources by type, CloudFormation's functions, imports, nested
stacks, cross-region references, mappings, and the construct paths that label unknowns."""

from __future__ import annotations

from typing import Any

import pytest

from ecs_exec_roles._assembly import Assembly
from ecs_exec_roles._symbols import Symbols
from ecs_exec_roles._template import Template

ACCOUNT = "123456789012"
REGION = "eu-west-1"


def concrete(body: dict[str, Any], path: str = "S.template.json", **extra: Any) -> Template:
    """A template of a stack with a concrete account and region."""
    return Template(path, body, path.split(".")[0], extra.pop("account", ACCOUNT), **extra)


def env(region: str | None, account: str | None = ACCOUNT) -> Template:
    return Template("S.template.json", {}, "S", account, region)


def agnostic(body: dict[str, Any], path: str = "A.template.json") -> Template:
    """A template of an environment-agnostic stack."""
    return Template(path, body, path.split(".")[0])


def resources(**by_id: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": by_id}


def resource(resource_type: str, **properties: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": properties}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def join(*parts: Any, delimiter: str = "") -> dict[str, Any]:
    return {"Fn::Join": [delimiter, list(parts)]}


def resolve_one(body: dict[str, Any], value: Any) -> Any:
    template = concrete(body, region=REGION)
    return Assembly([template]).resolve(template, value)


# -- pseudo parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("eu-west-1", "aws", "amazonaws.com"),
        ("us-east-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_pseudo_parameters_are_literal_in_a_concrete_environment(
    region: str, partition: str, suffix: str
) -> None:
    template = env(region)
    assembly = Assembly([template])
    expected = {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": partition,
        "AWS::URLSuffix": suffix,
    }
    for name, literal in expected.items():
        assert assembly.pseudo(template, name) == literal
        assert assembly.resolve(template, ref(name)) == literal
    sub = {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:x"}
    assert assembly.text(template, sub) == f"arn:{partition}:ecr:{region}:{ACCOUNT}:x"


def test_environment_agnostic_templates_share_one_unknown_per_pseudo_parameter() -> None:
    first, second = agnostic({}), agnostic({}, "B.template.json")
    assembly = Assembly([first, second])
    seen = set()
    for name in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix"):
        text = assembly.resolve(first, ref(name))
        assert assembly.resolve(second, ref(name)) == text
        unknown = assembly.symbols.unknown(text)
        assert unknown is not None
        assert unknown.pseudo == name
        assert unknown.label == f"<{name}>"
        assert unknown.expression == ref(name)
        assert assembly.pseudo(first, name) == text
        seen.add(text)
    assert len(seen) == 4


def test_a_concrete_account_with_an_unknown_region_shares_the_agnostic_region() -> None:
    half, other = env(None), agnostic({})
    assembly = Assembly([half, other])
    assert assembly.pseudo(half, "AWS::AccountId") == ACCOUNT
    for name in ("AWS::Region", "AWS::Partition", "AWS::URLSuffix"):
        assert assembly.pseudo(half, name) == assembly.pseudo(other, name)
        assert assembly.resolve(half, ref(name)) == assembly.resolve(other, ref(name))


def test_a_region_of_no_known_partition_leaves_the_partition_unknown() -> None:
    template = env("mars-east")
    assembly = Assembly([template])
    assert assembly.pseudo(template, "AWS::Region") == "mars-east"
    for name in ("AWS::Partition", "AWS::URLSuffix"):
        unknown = assembly.symbols.unknown(assembly.pseudo(template, name))
        assert unknown is not None
        assert unknown.pseudo == name


@pytest.mark.parametrize("name", ["AWS::StackName", "AWS::StackId", "AWS::NotificationARNs"])
def test_other_pseudo_parameters_are_unknown_per_template(name: str) -> None:
    first, second = env(REGION), concrete({}, "T.template.json", region=REGION)
    assembly = Assembly([first, second])
    text = assembly.resolve(first, ref(name))
    assert assembly.resolve(first, ref(name)) == text
    assert assembly.resolve(second, ref(name)) != text
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    assert unknown.label == f"<{name}>"
    assert unknown.pseudo == ""
    assert assembly.pseudo(first, name) == text


def test_no_value_is_none_and_drops_out_of_a_join() -> None:
    template = env(REGION)
    assembly = Assembly([template])
    assert assembly.resolve(template, ref("AWS::NoValue")) is None
    assert assembly.pseudo(template, "AWS::NoValue") == ""
    assert assembly.text(template, ref("AWS::NoValue")) is None
    assert assembly.text(template, join("a", ref("AWS::NoValue"), "b", delimiter="-")) == "a-b"


# -- references to resources --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "name_property"),
    [
        ("AWS::ECR::Repository", "RepositoryName"),
        ("AWS::Logs::LogGroup", "LogGroupName"),
        ("AWS::S3::Bucket", "BucketName"),
        ("AWS::IAM::Role", "RoleName"),
        ("AWS::SSM::Parameter", "Name"),
    ],
)
def test_the_ref_of_a_resource_is_the_name_its_properties_give(
    resource_type: str, name_property: str
) -> None:
    named = resource(resource_type, **{name_property: "given-name"})
    by_sub = resource(resource_type, **{name_property: {"Fn::Sub": "${AWS::Region}-name"}})
    generated = resource(resource_type)
    template = concrete(resources(Named=named, BySub=by_sub, Gen=generated), region=REGION)
    assembly = Assembly([template])
    assert assembly.text(template, ref("Named")) == "given-name"
    assert assembly.text(template, ref("BySub")) == f"{REGION}-name"
    text = assembly.text(template, ref("Gen"))
    assert text is not None
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    assert (unknown.label, unknown.resource_type, unknown.attribute) == (
        "<Gen>",
        resource_type,
        "Ref",
    )
    assert unknown.expression == ref("Gen")


def test_a_generated_name_is_one_unknown_per_resource_and_template() -> None:
    body = resources(A=resource("AWS::Logs::LogGroup"), B=resource("AWS::Logs::LogGroup"))
    first, second = concrete(body, region=REGION), concrete(body, "T.template.json", region=REGION)
    assembly = Assembly([first, second])
    a = assembly.resolve(first, ref("A"))
    assert assembly.resolve(first, ref("A")) == a
    assert assembly.resolve(first, ref("B")) != a
    assert assembly.resolve(second, ref("A")) != a


@pytest.mark.parametrize(
    "body",
    [
        resources(R=resource("AWS::SQS::Queue", QueueName="q")),
        resources(R=resource("AWS::Logs::LogGroup", RetentionInDays=7)),
        resources(R={"Type": "AWS::S3::Bucket"}),
        resources(),
    ],
    ids=["queue-name-is-not-its-ref", "no-name", "no-properties", "no-such-resource"],
)
def test_the_ref_of_a_resource_without_a_given_name_is_unknown(body: dict[str, Any]) -> None:
    template = concrete(body, region=REGION)
    assembly = Assembly([template])
    assert assembly.symbols.unknown(assembly.resolve(template, ref("R"))) is not None


# -- ARNs ---------------------------------------------------------------------------------------

ARNS = [
    (
        resource("AWS::ECR::Repository", RepositoryName="app"),
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app",
    ),
    (
        resource("AWS::Logs::LogGroup", LogGroupName="/ecs/app"),
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app:*",
    ),
    (resource("AWS::KMS::Key"), f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{{ref}}"),
    (resource("AWS::S3::Bucket", BucketName="bkt"), "arn:aws:s3:::bkt"),
    (resource("AWS::S3::Bucket"), "arn:aws:s3:::{ref}"),
    (resource("AWS::IAM::Role", RoleName="r"), f"arn:aws:iam::{ACCOUNT}:role/r"),
    (resource("AWS::IAM::Role", RoleName="r", Path="/"), f"arn:aws:iam::{ACCOUNT}:role/r"),
    (
        resource("AWS::IAM::Role", RoleName="r", Path="/svc/app/"),
        f"arn:aws:iam::{ACCOUNT}:role/svc/app/r",
    ),
    (resource("AWS::IAM::Role", Path="/svc/"), f"arn:aws:iam::{ACCOUNT}:role/svc/{{ref}}"),
    (
        resource("AWS::ECR::Repository"),
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{{ref}}",
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    ARNS,
    ids=[
        "repository",
        "log-group",
        "key",
        "bucket",
        "generated-bucket",
        "role",
        "role-root-path",
        "role-path",
        "generated-role-path",
        "generated-repository",
    ],
)
def test_the_arn_of_a_resource_is_spelled_out_by_type(spec: dict[str, Any], expected: str) -> None:
    template = concrete(resources(R=spec), region=REGION)
    assembly = Assembly([template])
    name = assembly.resolve(template, ref("R"))
    arn = expected.format(ref=name)
    assert assembly.resolve(template, get_att("R", "Arn")) == arn
    assert assembly.resolve(template, {"Fn::GetAtt": "R.Arn"}) == arn
    assert assembly.resolve(template, {"Fn::Sub": "${R.Arn}"}) == arn


def test_the_arn_of_an_agnostic_stack_s_resource_holds_the_pseudo_unknowns() -> None:
    template = agnostic(resources(R=resource("AWS::Logs::LogGroup", LogGroupName="g")))
    assembly = Assembly([template])
    arn = assembly.text(template, get_att("R", "Arn"))
    assert arn is not None
    pseudo = [u.pseudo for u in assembly.symbols.unknowns(arn)]
    assert pseudo == ["AWS::Partition", "AWS::Region", "AWS::AccountId"]
    assert assembly.symbols.display(arn) == (
        "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:g:*"
    )


@pytest.mark.parametrize(
    ("logical_id", "attribute", "resource_type"),
    [
        ("Queue", "Arn", "AWS::SQS::Queue"),
        ("Repo", "RepositoryUri", "AWS::ECR::Repository"),
        ("Missing", "Arn", ""),
    ],
)
def test_other_attributes_are_one_unknown_each(
    logical_id: str, attribute: str, resource_type: str
) -> None:
    body = resources(
        Queue=resource("AWS::SQS::Queue"),
        Repo=resource("AWS::ECR::Repository", RepositoryName="app"),
    )
    template = concrete(body, region=REGION)
    assembly = Assembly([template])
    text = assembly.resolve(template, get_att(logical_id, attribute))
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    assert unknown.label == f"<{logical_id}.{attribute}>"
    assert (unknown.resource_type, unknown.attribute) == (resource_type, attribute)
    assert unknown.expression == get_att(logical_id, attribute)
    assert assembly.resolve(template, get_att(logical_id, attribute)) == text
    assert assembly.resolve(template, ref(logical_id)) != text


def test_the_attribute_of_a_get_att_may_be_an_intrinsic() -> None:
    body = resources(Repo=resource("AWS::ECR::Repository", RepositoryName="app"))
    expected = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"
    assert resolve_one(body, {"Fn::GetAtt": ["Repo", {"Fn::Sub": "Arn"}]}) == expected


# -- one repository, several spellings ----------------------------------------------------------

REPOSITORY_ARN_PARTS = join(
    "arn:",
    ref("AWS::Partition"),
    ":ecr:",
    ref("AWS::Region"),
    ":",
    ref("AWS::AccountId"),
    ":repository/",
    ref("Repo"),
)
REPOSITORY_ARN_SUB = {
    "Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Repo}"
}


def _select_of_arn(index: int) -> dict[str, Any]:
    return {"Fn::Select": [index, {"Fn::Split": [":", get_att("Repo", "Arn")]}]}


REPOSITORY_URI_FOR_TAG = join(
    _select_of_arn(4),
    ".dkr.ecr.",
    _select_of_arn(3),
    ".",
    ref("AWS::URLSuffix"),
    "/",
    ref("Repo"),
    ":latest",
)


@pytest.mark.parametrize("environment", ["concrete", "agnostic"])
@pytest.mark.parametrize("named", [True, False], ids=["named", "generated"])
def test_an_arn_joined_or_split_gives_the_same_text_as_get_att(
    environment: str, named: bool
) -> None:
    repo = resource("AWS::ECR::Repository", **({"RepositoryName": "app"} if named else {}))
    body = resources(Repo=repo)
    template = concrete(body, region=REGION) if environment == "concrete" else agnostic(body)
    assembly = Assembly([template])
    arn = assembly.resolve(template, get_att("Repo", "Arn"))
    assert assembly.resolve(template, REPOSITORY_ARN_PARTS) == arn
    assert assembly.resolve(template, REPOSITORY_ARN_SUB) == arn

    region, account, suffix, name = (
        assembly.resolve(template, ref(n))
        for n in ("AWS::Region", "AWS::AccountId", "AWS::URLSuffix", "Repo")
    )
    assert assembly.resolve(template, _select_of_arn(3)) == region
    assert assembly.resolve(template, _select_of_arn(4)) == account
    uri = assembly.resolve(template, REPOSITORY_URI_FOR_TAG)
    assert uri == f"{account}.dkr.ecr.{region}.{suffix}/{name}:latest"
    if environment == "concrete" and named:
        assert uri == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:latest"


# -- the functions ------------------------------------------------------------------------------

FUNCTIONS_BODY = {
    **resources(
        Repo=resource("AWS::ECR::Repository", RepositoryName="app"),
        Logs=resource("AWS::Logs::LogGroup", LogGroupName="grp"),
    ),
    "Mappings": {
        "Names": {"prod": {"repo": "prod-app", "acct": ref("AWS::AccountId")}},
    },
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("literal", "literal"),
        (7, 7),
        (True, True),
        (None, None),
        (join("a", "b", delimiter="/"), "a/b"),
        (join("a", 1, 2.5, delimiter="-"), "a-1-2.5"),
        (join(), ""),
        ({"Fn::Join": [{"Fn::Sub": ","}, ["a", ref("Repo")]]}, "a,app"),
        ({"Fn::Join": ["-", {"Fn::Split": [",", "a,b,c"]}]}, "a-b-c"),
        ({"Fn::Sub": "${AWS::Region}-x"}, f"{REGION}-x"),
        ({"Fn::Sub": "${Repo}:${Logs}"}, "app:grp"),
        ({"Fn::Sub": "${Logs.Arn}"}, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:grp:*"),
        ({"Fn::Sub": ["${A}/${B}", {"A": "a", "B": ref("AWS::AccountId")}]}, f"a/{ACCOUNT}"),
        ({"Fn::Sub": ["${N}-${F}", {"N": 5, "F": 0.5}]}, "5-0.5"),
        ({"Fn::Sub": ["${Repo}", {"Repo": "shadowed"}]}, "shadowed"),
        ({"Fn::Sub": "${!Literal}-${AWS::Region}"}, f"${{Literal}}-{REGION}"),
        ({"Fn::Sub": "no variables"}, "no variables"),
        ({"Fn::Select": [1, ["a", "b", "c"]]}, "b"),
        ({"Fn::Select": ["2", ["a", "b", "c"]]}, "c"),
        ({"Fn::Select": [0, {"Fn::Split": ["/", "x/y"]}]}, "x"),
        ({"Fn::Select": [1, [ref("Repo"), ref("Logs")]]}, "grp"),
        ({"Fn::Split": [",", "a,b"]}, ["a", "b"]),
        ({"Fn::Split": [",", "ab"]}, ["ab"]),
        ({"Fn::FindInMap": ["Names", "prod", "repo"]}, "prod-app"),
        ({"Fn::FindInMap": ["Names", "prod", "acct"]}, ACCOUNT),
        ({"Fn::FindInMap": ["Names", {"Fn::Sub": "prod"}, "repo"]}, "prod-app"),
        ([ref("Repo"), "x"], ["app", "x"]),
        ({"Key": ref("Repo"), "Other": [ref("Logs")]}, {"Key": "app", "Other": ["grp"]}),
        ({"Ref": ["not", "a", "name"]}, {"Ref": ["not", "a", "name"]}),
    ],
    ids=lambda v: str(v)[:60],
)
def test_functions_resolve_to_literal_values(value: Any, expected: Any) -> None:
    assert resolve_one(FUNCTIONS_BODY, value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::If": ["IsProd", "a", "b"]},
        {"Fn::GetAZs": ""},
        {"Fn::Base64": "x"},
        {"Condition": "IsProd"},
        {"Fn::Join": ["", "not-a-list"]},
        {"Fn::Join": ["-"]},
        {"Fn::Join": ["", [["nested", "list"]]]},
        {"Fn::Join": ["", [{"Key": "object"}]]},
        {"Fn::Sub": ["${L}", {"L": ["a"]}]},
        {"Fn::Sub": ["${A}", "not-an-object"]},
        {"Fn::Sub": ["only-text"]},
        {"Fn::Sub": 5},
        {"Fn::Select": [3, ["a", "b"]]},
        {"Fn::Select": [-1, ["a", "b"]]},
        {"Fn::Select": ["first", ["a", "b"]]},
        {"Fn::Select": [0, "not-a-list"]},
        {"Fn::Select": [0]},
        {"Fn::Split": ["", "ab"]},
        {"Fn::Split": [",", ["a"]]},
        {"Fn::Split": [","]},
        {"Fn::GetAtt": ["OnlyOne"]},
        {"Fn::GetAtt": "NoDot"},
        {"Fn::GetAtt": ["Repo", ["Arn"]]},
        {"Fn::ImportValue": ["a", "list"]},
        {"Fn::FindInMap": ["Names", "prod"]},
        {"Fn::FindInMap": ["Missing", "prod", "repo"]},
        {"Fn::FindInMap": ["Names", "staging", "repo"]},
        {"Fn::FindInMap": ["Names", "prod", "missing"]},
        {"Fn::FindInMap": ["Names", ref("AWS::StackName"), "repo"]},
    ],
    ids=lambda v: str(v)[:60],
)
def test_what_is_not_evaluated_is_one_opaque_unknown_per_expression(value: Any) -> None:
    template = concrete(FUNCTIONS_BODY, region=REGION)
    other = concrete(FUNCTIONS_BODY, "T.template.json", region=REGION)
    assembly = Assembly([template, other])
    text = assembly.resolve(template, value)
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    assert unknown.expression == value
    assert unknown.pseudo == ""
    assert assembly.resolve(template, value) == text
    assert assembly.resolve(other, value) != text


def test_an_opaque_unknown_is_labelled_with_its_expression_and_kept_inside_text() -> None:
    template = concrete(FUNCTIONS_BODY, region=REGION)
    assembly = Assembly([template])
    condition = {"Fn::If": ["IsProd", ref("Repo"), {"Ref": "AWS::NoValue"}]}
    text = assembly.text(template, join("repo/", condition))
    assert text is not None
    assert assembly.symbols.display(text) == (
        'repo/<{"Fn::If":["IsProd",{"Ref":"Repo"},{"Ref":"AWS::NoValue"}]}>'
    )
    other = {"Fn::If": ["IsProd", "a", "b"]}
    assert assembly.resolve(template, other) != assembly.resolve(template, condition)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        (5, "5"),
        (2.5, "2.5"),
        (True, None),
        (None, None),
        (ref("AWS::NoValue"), None),
        (["a"], None),
        ({"Key": "value"}, None),
        ({"Fn::Split": [",", "a,b"]}, None),
        (ref("AWS::Region"), REGION),
    ],
    ids=lambda v: str(v),
)
def test_text_is_the_resolved_value_when_it_is_text(value: Any, expected: str | None) -> None:
    template = concrete({}, region=REGION)
    assert Assembly([template]).text(template, value) == expected


# -- parameters ---------------------------------------------------------------------------------


def test_a_parameter_is_unknown_even_with_a_default() -> None:
    body = {"Parameters": {"Env": {"Type": "String", "Default": "prod"}, "Other": {}}}
    first, second = concrete(body, region=REGION), concrete(body, "T.template.json")
    assembly = Assembly([first, second])
    env_text = assembly.resolve(first, ref("Env"))
    unknown = assembly.symbols.unknown(env_text)
    assert unknown is not None
    assert (unknown.label, unknown.ssm_parameter) == ("<Env>", "")
    assert unknown.expression == ref("Env")
    assert env_text != "prod"
    assert assembly.resolve(first, ref("Other")) != env_text
    assert assembly.resolve(second, ref("Env")) != env_text


def test_an_ssm_parameter_is_one_unknown_per_ssm_name_and_region() -> None:
    def body(default: str | None) -> dict[str, Any]:
        declared: dict[str, Any] = {"Type": "AWS::SSM::Parameter::Value<String>"}
        if default is not None:
            declared["Default"] = default
        return {"Parameters": {"P": declared}}

    first = concrete(body("/cdk-bootstrap/hnb659fds/version"), region=REGION)
    second = concrete(body("/cdk-bootstrap/hnb659fds/version"), "B.template.json", region=REGION)
    third = agnostic(body("/other"), "C.template.json")
    elsewhere = agnostic(body("/cdk-bootstrap/hnb659fds/version"), "F.template.json")
    no_default = agnostic(body(None), "D.template.json")
    no_default_too = agnostic(body(None), "E.template.json")
    assembly = Assembly([first, second, third, no_default, no_default_too, elsewhere])
    text = assembly.resolve(first, ref("P"))
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    assert unknown.ssm_parameter == "/cdk-bootstrap/hnb659fds/version"
    assert unknown.label == "<P>"
    assert assembly.resolve(second, ref("P")) == text
    assert assembly.resolve(third, ref("P")) != text
    # SSM parameters are regional: the same name read in an unknown region is another value.
    assert assembly.resolve(elsewhere, ref("P")) != text
    unnamed = assembly.resolve(no_default, ref("P"))
    unnamed_unknown = assembly.symbols.unknown(unnamed)
    assert unnamed_unknown is not None
    assert unnamed_unknown.ssm_parameter == ""
    assert assembly.resolve(no_default_too, ref("P")) != unnamed


def _nested_pair() -> tuple[Template, Template]:
    parent = concrete(
        {
            **resources(
                Queue=resource("AWS::SQS::Queue"),
                Repo=resource("AWS::ECR::Repository", RepositoryName="app"),
                Child=resource(
                    "AWS::CloudFormation::Stack",
                    TemplateURL="https://example.com/child.json",
                    Parameters={
                        "QueueRef": ref("Queue"),
                        "RepoArn": get_att("Repo", "Arn"),
                        "Name": "literal",
                    },
                ),
            ),
            "Outputs": {"Top": {"Value": get_att("Child", "Outputs.Joined")}},
        },
        region=REGION,
    )
    child = Template(
        "SChild.nested.template.json",
        {
            "Parameters": {
                "QueueRef": {"Type": "String"},
                "RepoArn": {"Type": "String"},
                "Name": {"Type": "String"},
                "NotPassed": {"Type": "String", "Default": "d"},
            },
            **resources(Logs=resource("AWS::Logs::LogGroup")),
            "Outputs": {
                "Joined": {"Value": join(ref("Name"), ref("QueueRef"), delimiter="-")},
                "LogsRef": {"Value": ref("Logs")},
                "NoValue": {"Description": "no value"},
            },
        },
        "S/Child",
        ACCOUNT,
        REGION,
        parent=parent,
        parent_resource="Child",
    )
    parent.children["Child"] = child
    return parent, child


def test_a_nested_stack_s_parameters_are_what_the_parent_passes() -> None:
    parent, child = _nested_pair()
    assembly = Assembly([parent, child])
    assert assembly.resolve(child, ref("QueueRef")) == assembly.resolve(parent, ref("Queue"))
    assert assembly.resolve(child, ref("RepoArn")) == (
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"
    )
    assert assembly.resolve(child, ref("Name")) == "literal"
    not_passed = assembly.symbols.unknown(assembly.resolve(child, ref("NotPassed")))
    assert not_passed is not None
    assert not_passed.label == "<NotPassed>"


def test_a_nested_stack_s_outputs_are_its_values_in_the_parent() -> None:
    parent, child = _nested_pair()
    assembly = Assembly([parent, child])
    queue = assembly.resolve(parent, ref("Queue"))
    assert assembly.resolve(parent, get_att("Child", "Outputs.Joined")) == f"literal-{queue}"
    assert assembly.resolve(parent, parent.outputs["Top"]["Value"]) == f"literal-{queue}"
    assert assembly.resolve(parent, get_att("Child", "Outputs.LogsRef")) == assembly.resolve(
        child, ref("Logs")
    )
    for missing in ("Outputs.NoValue", "Outputs.Missing"):
        unknown = assembly.symbols.unknown(assembly.resolve(parent, get_att("Child", missing)))
        assert unknown is not None
        assert (unknown.label, unknown.attribute) == (f"<Child.{missing}>", missing)
        assert unknown.resource_type == "AWS::CloudFormation::Stack"


def test_a_parameter_of_a_template_without_its_parent_resource_is_unknown() -> None:
    parent, child = _nested_pair()
    child.parent_resource = "NotAResource"
    assembly = Assembly([parent, child])
    unknown = assembly.symbols.unknown(assembly.resolve(child, ref("Name")))
    assert unknown is not None
    assert unknown.label == "<Name>"


def test_a_parameter_passed_to_itself_resolves_without_recursing_forever() -> None:
    body = {
        "Parameters": {"P": {"Type": "String"}},
        **resources(
            Self=resource("AWS::CloudFormation::Stack", Parameters={"P": ref("P")}),
            Repo=resource("AWS::ECR::Repository", RepositoryName=ref("Repo")),
        ),
    }
    template = concrete(body, region=REGION)
    template.parent, template.parent_resource = template, "Self"
    assembly = Assembly([template])
    for name in ("P", "Repo"):
        text = assembly.resolve(template, ref(name))
        unknown = assembly.symbols.unknown(text)
        assert unknown is not None
        assert unknown.expression == ref(name)


def test_deeply_nested_values_end_in_an_opaque_unknown() -> None:
    value: Any = "leaf"
    for _ in range(60):
        value = [value]
    resolved = resolve_one({}, value)
    for _ in range(60):
        if not isinstance(resolved, list):
            break
        (resolved,) = resolved
    assert isinstance(resolved, str)
    assert resolved != "leaf"


# -- imports ------------------------------------------------------------------------------------


def _producer_and_consumer() -> tuple[Template, Template]:
    producer = concrete(
        {
            **resources(
                Repo=resource("AWS::ECR::Repository"),
                Named=resource("AWS::ECR::Repository", RepositoryName="app"),
            ),
            "Outputs": {
                "RepoName": {"Value": ref("Repo"), "Export": {"Name": "RepoName"}},
                "RepoArn": {
                    "Value": get_att("Named", "Arn"),
                    "Export": {"Name": {"Fn::Sub": "${AWS::Region}-arn"}},
                },
                "PerStack": {
                    "Value": "x",
                    "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-x"}},
                },
                "NotExported": {"Value": "y"},
                "NoName": {"Value": "z", "Export": {}},
            },
        },
        "P.template.json",
        region="us-east-1",
    )
    return producer, agnostic({}, "C.template.json")


def test_exports_are_the_outputs_with_a_literal_export_name() -> None:
    producer, consumer = _producer_and_consumer()
    exports = Assembly([producer, consumer]).exports
    assert set(exports) == {"RepoName", "us-east-1-arn"}
    assert exports["RepoName"] == (producer, ref("Repo"))
    assert exports["us-east-1-arn"][0] is producer


def test_an_import_is_the_exported_value_in_the_producing_template() -> None:
    producer, consumer = _producer_and_consumer()
    assembly = Assembly([producer, consumer])
    assert assembly.resolve(consumer, {"Fn::ImportValue": "RepoName"}) == assembly.resolve(
        producer, ref("Repo")
    )
    joined_name = {"Fn::Join": ["-", ["us-east-1", "arn"]]}
    imported = assembly.resolve(consumer, {"Fn::ImportValue": joined_name})
    # The producer's region, not the consumer's (unknown) one.
    assert imported == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app"


@pytest.mark.parametrize("name", ["Missing", "NotExported"])
def test_an_import_of_no_export_of_the_app_is_one_unknown_per_name(name: str) -> None:
    producer, consumer = _producer_and_consumer()
    assembly = Assembly([producer, consumer])
    text = assembly.resolve(consumer, {"Fn::ImportValue": name})
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    assert unknown.label == f"<{name}>"
    assert unknown.expression == {"Fn::ImportValue": name}
    assert assembly.resolve(producer, {"Fn::ImportValue": {"Fn::Sub": name}}) == text
    assert assembly.resolve(consumer, {"Fn::ImportValue": "Other"}) != text


# -- weak references (Fn::GetStackOutput) --------------------------------------------------------


def _stack_output(stack: Any, output: str, region: Any = REGION) -> dict[str, Any]:
    return {"Fn::GetStackOutput": {"StackName": stack, "OutputName": output, "Region": region}}


def _producers() -> list[Template]:
    """The stack named "Data" in two regions, each with the output "Out" of its repository."""
    return [
        concrete(
            {
                **resources(Repo=resource("AWS::ECR::Repository", RepositoryName="app")),
                "Outputs": {"Out": {"Value": get_att("Repo", "Arn")}},
            },
            path=f"Data{region}.template.json",
            region=region,
            stack_name="Data",
        )
        for region in (REGION, "us-east-1")
    ]


def test_a_stack_output_is_the_output_s_value_in_the_producing_template() -> None:
    consumer = concrete({}, path="C.template.json", region=REGION, stack_name="C")
    assembly = Assembly([*_producers(), consumer])
    for region in (REGION, "us-east-1"):
        resolved = assembly.resolve(consumer, _stack_output("Data", "Out", region))
        # The output of the stack of that name in that region, in the producer's region.
        assert resolved == f"arn:aws:ecr:{region}:{ACCOUNT}:repository/app"
    joined = _stack_output(join("Da", "ta"), "Out", {"Ref": "AWS::Region"})
    assert assembly.resolve(consumer, joined) == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"


@pytest.mark.parametrize(
    ("stack", "output", "region"),
    [("Other", "Out", REGION), ("Data", "Missing", REGION), ("Data", "Out", "ap-south-1")],
)
def test_a_stack_output_outside_the_app_is_one_unknown(
    stack: str, output: str, region: str
) -> None:
    consumer = concrete({}, path="C.template.json", region=REGION, stack_name="C")
    assembly = Assembly([*_producers(), consumer])
    text = assembly.resolve(consumer, _stack_output(stack, output, region))
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    # One producer of that name, in another region: not the one read.
    alone = Assembly([_producers()[1], consumer])
    elsewhere = alone.resolve(consumer, _stack_output("Data", "Out", REGION))
    assert alone.symbols.unknown(elsewhere) is not None
    assert unknown.label == f"<{stack}.{output}>"
    assert assembly.resolve(consumer, _stack_output(stack, output, region)) == text
    assert assembly.resolve(consumer, _stack_output(stack, "Else", region)) != text


def test_a_stack_output_is_read_from_top_level_templates_only() -> None:
    (producer, _) = _producers()
    nested = Template(
        "N.nested.template.json", producer.body, "", ACCOUNT, REGION, producer, "N", "Data"
    )
    consumer = concrete({}, path="C.template.json", region=REGION, stack_name="C")
    assembly = Assembly([nested, consumer])
    text = assembly.resolve(consumer, _stack_output("Data", "Out"))
    assert assembly.symbols.unknown(text) is not None


# -- cross-region references --------------------------------------------------------------------

EXPORT_NAME = "/cdk/exports/C/Puseast1FnGetAttGroupArn"


def _writer_and_reader() -> tuple[Template, Template]:
    writer = concrete(
        resources(
            Group=resource("AWS::Logs::LogGroup", LogGroupName="grp"),
            Writer=resource(
                "Custom::CrossRegionExportWriter",
                WriterProps={
                    "region": REGION,
                    "exports": {EXPORT_NAME: get_att("Group", "Arn"), "/plain": "text"},
                },
            ),
        ),
        "P.template.json",
        region="us-east-1",
    )
    reader = concrete(
        resources(
            Reader=resource(
                "Custom::CrossRegionExportReader",
                ReaderProps={"region": REGION, "prefix": "C", "imports": {}},
            )
        ),
        "C.template.json",
        region=REGION,
    )
    return writer, reader


def test_a_cross_region_reference_resolves_to_what_the_writer_writes() -> None:
    writer, reader = _writer_and_reader()
    assembly = Assembly([writer, reader])
    assert assembly.resolve(reader, get_att("Reader", EXPORT_NAME)) == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:grp:*"
    )
    assert assembly.resolve(reader, get_att("Reader", "/plain")) == "text"


def test_a_cross_region_reference_to_nothing_written_is_unknown() -> None:
    writer, reader = _writer_and_reader()
    assembly = Assembly([writer, reader])
    unknown = assembly.symbols.unknown(assembly.resolve(reader, get_att("Reader", "/missing")))
    assert unknown is not None
    assert unknown.resource_type == "Custom::CrossRegionExportReader"
    assert unknown.attribute == "/missing"


# -- mappings -----------------------------------------------------------------------------------

ENTRIES = {"eu-west-1": "111111111111", "us-east-1": "222222222222"}


def _region_mapped(entries: dict[str, str], path: str, name: str = "Accounts") -> Template:
    mapping = {region: {"account": value} for region, value in entries.items()}
    return agnostic({"Mappings": {name: mapping}}, path)


def _lookup(name: str = "Accounts") -> dict[str, Any]:
    return {"Fn::FindInMap": [name, ref("AWS::Region"), "account"]}


def test_a_lookup_by_a_concrete_region_is_its_entry() -> None:
    mapping = {region: {"account": value} for region, value in ENTRIES.items()}
    template = concrete({"Mappings": {"Accounts": mapping}}, region="us-east-1")
    assembly = Assembly([template])
    assert assembly.resolve(template, _lookup()) == "222222222222"
    assert assembly.region_mapping(template, ENTRIES) == "222222222222"


def test_a_lookup_by_the_unknown_region_equals_region_mapping_with_the_same_entries() -> None:
    first = _region_mapped(ENTRIES, "A.template.json")
    renamed = _region_mapped(dict(reversed(ENTRIES.items())), "B.template.json", "Other")
    different = _region_mapped({**ENTRIES, "eu-central-1": "3"}, "C.template.json")
    assembly = Assembly([first, renamed, different])
    text = assembly.resolve(first, _lookup())
    unknown = assembly.symbols.unknown(text)
    assert unknown is not None
    assert unknown.label == "<Accounts of the region>"
    assert assembly.region_mapping(first, ENTRIES) == text
    assert assembly.region_mapping(first, dict(reversed(ENTRIES.items()))) == text
    assert assembly.resolve(renamed, _lookup("Other")) == text
    assert assembly.resolve(different, _lookup()) != text
    assert assembly.region_mapping(first, {"eu-west-1": "111111111111"}) != text


def test_region_mapping_first_is_labelled_as_the_region_s_entry() -> None:
    template = _region_mapped(ENTRIES, "A.template.json")
    assembly = Assembly([template])
    text = assembly.region_mapping(template, ENTRIES)
    assert assembly.symbols.display(text) == "<the region's entry>"
    assert assembly.resolve(template, _lookup()) == text


def test_a_lookup_by_another_unknown_key_is_opaque() -> None:
    template = _region_mapped(ENTRIES, "A.template.json")
    assembly = Assembly([template])
    value = {"Fn::FindInMap": ["Accounts", ref("AWS::AccountId"), "account"]}
    unknown = assembly.symbols.unknown(assembly.resolve(template, value))
    assert unknown is not None
    assert unknown.expression == value
    assert assembly.resolve(template, value) != assembly.region_mapping(template, ENTRIES)


# -- resources by their Ref ---------------------------------------------------------------------


def test_resource_of_finds_the_resource_of_a_type_by_its_ref() -> None:
    first = concrete(
        resources(
            Repo=resource("AWS::ECR::Repository", RepositoryName="app"),
            Logs=resource("AWS::Logs::LogGroup", LogGroupName="app"),
        ),
        region=REGION,
    )
    second = agnostic(resources(Gen=resource("AWS::ECR::Repository")))
    assembly = Assembly([first, second])
    generated = assembly.resolve(second, ref("Gen"))
    assert assembly.resource_of("app", "AWS::ECR::Repository") == (first, "Repo")
    assert assembly.resource_of("app", "AWS::Logs::LogGroup") == (first, "Logs")
    assert assembly.resource_of(generated, "AWS::ECR::Repository") == (second, "Gen")
    assert assembly.resource_of("other", "AWS::ECR::Repository") is None
    assert assembly.resource_of("app", "AWS::S3::Bucket") is None


def test_template_finds_a_template_by_its_path(tmp_path: Any) -> None:
    path = str(tmp_path / "S.template.json")
    template = concrete({}, path)
    assembly = Assembly([template])
    assert assembly.template(str(tmp_path / "." / "S.template.json")) is template
    assert assembly.template(str(tmp_path / "T.template.json")) is None


def test_an_assembly_uses_the_symbols_it_is_given() -> None:
    symbols = Symbols()
    template = agnostic({})
    text = Assembly([template], symbols).resolve(template, ref("AWS::Region"))
    unknown = symbols.unknown(text)
    assert unknown is not None
    assert unknown.pseudo == "AWS::Region"


# -- construct paths ----------------------------------------------------------------------------


def test_name_records_the_construct_path_of_a_resource() -> None:
    body = resources(Queue=resource("AWS::SQS::Queue"))
    first, second = concrete(body, region=REGION), concrete(body, "T.template.json")
    assembly = Assembly([first, second])
    assembly.name(first, "Queue", "S/Queue/Resource")
    assert assembly.by_path == {"S/Queue/Resource": (first, "Queue")}
    assert assembly.path_of(first, "Queue") == "S/Queue/Resource"
    assert assembly.path_of(second, "Queue") == ""
    assert assembly.path_of(first, "Other") == ""


@pytest.mark.parametrize(
    ("construct_path", "label"),
    [
        ("S/Queue/Resource", "S/Queue"),
        ("S/Queue", "S/Queue"),
        ("S/Resource/Custom", "S/Resource/Custom"),
        (None, "Queue"),
    ],
)
def test_the_unknowns_of_a_resource_are_labelled_by_its_construct_path(
    construct_path: str | None, label: str
) -> None:
    body = resources(Queue=resource("AWS::SQS::Queue"))
    template = concrete(body, region=REGION)
    assembly = Assembly([template])
    if construct_path is not None:
        assembly.name(template, "Queue", construct_path)
    queue_url = assembly.resolve(template, ref("Queue"))
    arn = assembly.resolve(template, get_att("Queue", "Arn"))
    assert assembly.symbols.display(queue_url) == f"<{label}>"
    assert assembly.symbols.display(f"{arn}/x") == f"<{label}.Arn>/x"


def test_a_split_of_a_value_that_may_hold_the_delimiter_is_unknown() -> None:
    imported = {"Fn::ImportValue": "X"}
    first = {"Fn::Select": [0, {"Fn::Split": [":", imported]}]}
    assembly = Assembly([agnostic({})])
    (template,) = assembly.templates
    whole = assembly.resolve(template, imported)
    part = assembly.resolve(template, first)
    assert part != whole
    unknown = assembly.symbols.unknown(part)
    assert unknown is not None and unknown.expression == first


@pytest.mark.parametrize(
    ("resource_type", "delimiter", "splits"),
    [
        ("AWS::IAM::Role", "/", True),
        ("AWS::IAM::Role", ":", True),
        ("AWS::Logs::LogGroup", ":", True),
        # A log group's name may hold "/": splitting there could cut it.
        ("AWS::Logs::LogGroup", "/", False),
        ("AWS::SecretsManager::Secret", ":", False),
    ],
)
def test_a_name_splits_where_it_cannot_hold_the_delimiter(
    resource_type: str, delimiter: str, splits: bool
) -> None:
    template = agnostic(resources(R=resource(resource_type)))
    assembly = Assembly([template])
    value = {"Fn::Split": [delimiter, {"Fn::Join": ["", ["a", delimiter, ref("R")]]}]}
    resolved = assembly.resolve(template, value)
    assert isinstance(resolved, list) is splits


def test_a_role_whose_path_only_deployment_tells_has_an_unknown_arn() -> None:
    template = concrete(
        {
            "Parameters": {"P": {"Type": "String"}},
            **resources(R=resource("AWS::IAM::Role", RoleName="r", Path=ref("P"))),
        },
        region=REGION,
    )
    assembly = Assembly([template])
    arn = assembly.resolve(template, {"Fn::GetAtt": ["R", "Arn"]})
    assert arn != f"arn:aws:iam::{ACCOUNT}:role/r"
    assert assembly.symbols.unknown(arn) is not None


def test_a_ref_and_an_attribute_of_resources_named_alike_are_kept_apart() -> None:
    template = concrete(
        resources(
            Ref=resource("AWS::S3::Bucket", BucketName="b"),
            Arn=resource("AWS::S3::Bucket", BucketName="x"),
        ),
        region=REGION,
    )
    assembly = Assembly([template])
    assert assembly.resolve(template, ref("Arn")) == "x"
    assert assembly.resolve(template, {"Fn::GetAtt": ["Ref", "Arn"]}) == "arn:aws:s3:::b"


def test_sub_writes_a_variables_value_as_it_is() -> None:
    value = {"Fn::Sub": ["${X}-${!Y}", {"X": "a${!b}"}]}
    assert resolve_one({}, value) == "a${!b}-${Y}"


def test_two_nested_stacks_of_the_same_content_keep_their_own_values() -> None:
    body = resources(Queue=resource("AWS::SQS::Queue"))
    parent = concrete(
        resources(
            A=resource("AWS::CloudFormation::Stack"), B=resource("AWS::CloudFormation::Stack")
        ),
        region=REGION,
    )
    # The assets manifest lists one file for two nested stacks of the same content.
    first = Template("N.nested.template.json", body, "S/A", ACCOUNT, REGION, parent, "A")
    second = Template("N.nested.template.json", body, "S/B", ACCOUNT, REGION, parent, "B")
    assembly = Assembly([parent, first, second])
    assert assembly.resolve(first, ref("Queue")) != assembly.resolve(second, ref("Queue"))
