"""What a task needs from its execution role, read from the template form of its containers.

The one reader of container definitions: derivation (``_derive``) reads the containers of the
task definitions that use a role when it builds the role's policies, and the verification
(``_verify``) reads every task definition of the synthesized templates; both read them here,
in the form CloudFormation deploys (values resolved to text by ``_template``). What a container
needs at launch:

- its image: an ECR repository's (every URI form: a tag, a digest, FIPS and dual-stack
  endpoints, the URI built from a repository of the app), AWS's FireLens image (the public SSM
  parameter ``/aws/service/aws-for-fluent-bit/<tag>``), another registry's, or one the
  template cannot tell;
- ``awslogs``: the log group, region and stream prefix, and ``awslogs-create-group``;
- the secrets and SSM parameters of ``secrets``, of ``logConfiguration.secretOptions`` (any log
  driver) and of ``repositoryCredentials``;
- files in S3: environment files, a FireLens configuration file; credential specs (gMSA) in S3
  or SSM.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._assembly import Assembly
from ._kinds import Kind
from ._regions import partition_of_region
from ._symbols import PLACEHOLDER, Unknown
from ._template import Template

__all__ = [
    "FLUENT_BIT_PARAMETER_PREFIX",
    "AwsLogs",
    "File",
    "Image",
    "ImageSource",
    "Registry",
    "SecretRef",
    "SecretSource",
    "TaskRead",
    "Unreadable",
    "api_names",
    "read_containers",
]

# The public SSM parameters that name AWS's FireLens image (aws-for-fluent-bit) by tag.
FLUENT_BIT_PARAMETER_PREFIX = "/aws/service/aws-for-fluent-bit/"
# The logical ID aws-cdk-lib gives the stack parameter that reads one of them, where the
# template at hand does not hold the parameter's declaration (derivation reads the containers
# alone).
_FLUENT_BIT_PARAMETER_ID = re.compile(r"^SsmParameterValueawsserviceawsforfluentbit")


class Registry(enum.Enum):
    ECR = "ecr"  # a private ECR repository: the role must pull from it
    FLUENT_BIT = "fluent-bit"  # AWS's FireLens image, in an AWS-owned repository of the region
    OTHER = "other"  # a registry the execution role has no say in
    UNKNOWN = "unknown"  # the template cannot tell


@dataclass(frozen=True)
class ImageSource:
    """Where an image comes from.

    :param repository_arn: for ECR, the repository's ARN as text.
    :param from_arn: the URI was built from the ARN of a repository whose ARN the template
        does not spell out (``repository_uri_for_tag``); ``repository_arn`` is that ARN.
    """

    registry: Registry
    repository_arn: str = ""
    from_arn: bool = False


@dataclass(frozen=True)
class Image:
    container: str
    value: Any
    text: str
    source: ImageSource


@dataclass(frozen=True)
class AwsLogs:
    """Where a container's ``awslogs`` driver writes.

    :param region: ``awslogs-region``, or the task's region when it is not given.
    :param prefix: ``awslogs-stream-prefix`` ("" without one).
    """

    container: str
    group: str
    group_value: Any
    region: str
    region_value: Any
    prefix: str
    create_group: bool


class SecretSource(enum.Enum):
    SECRET = "secret"  # a Secrets Manager secret
    PARAMETER = "parameter"  # an SSM parameter
    UNKNOWN = "unknown"  # the template cannot tell which


@dataclass(frozen=True)
class SecretRef:
    """A secret or SSM parameter whose value ECS reads for a container.

    :param purpose: ``secrets``, ``secretOptions`` (of the log configuration) or
        ``repositoryCredentials``.
    :param name: the variable or option it fills ("" for registry credentials).
    :param arn: a secret's ARN as written (without a JSON key, stage or version), a
        parameter's ARN.
    :param partial: a secret named without the six random characters of its ARN.
    """

    container: str
    purpose: str
    name: str
    source: SecretSource
    arn: str
    partial: bool
    value: Any


@dataclass(frozen=True)
class File:
    """A file ECS reads for a container before it starts.

    :param purpose: ``environmentFiles``, ``firelensConfiguration`` or ``credentialSpecs``.
    :param index: its place among the container's files of that purpose.
    :param arn: an S3 object's ARN, or an SSM parameter's (a credential spec).
    :param bucket_arn: the object's bucket ("" for a parameter).
    """

    container: str
    purpose: str
    index: int
    arn: str
    bucket_arn: str
    value: Any

    @property
    def in_s3(self) -> bool:
        return bool(self.bucket_arn)


@dataclass(frozen=True)
class Unreadable:
    """A value whose resource the template cannot tell (it could name any)."""

    container: str
    what: str
    text: str


@dataclass
class TaskRead:
    """What the containers of one task definition need, in the order of the containers."""

    images: list[Image] = field(default_factory=list)
    logs: list[AwsLogs] = field(default_factory=list)
    secrets: list[SecretRef] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


def read_containers(assembly: Assembly, template: Template, containers: Sequence[Any]) -> TaskRead:
    """What ``containers`` (a task definition's ``ContainerDefinitions`` in ``template``)
    need at launch."""
    read = TaskRead()
    reader = _Reader(assembly, template)
    for container in containers:
        if isinstance(container, dict):
            reader.container(_camel_case(container), read)
    return read


def api_names(value: dict[str, Any]) -> dict[str, Any]:
    """A map of properties with the names of the AWS APIs (``containerProperties``), as an L1
    holds them; a template writes CloudFormation's (``ContainerProperties``). An intrinsic
    (``Ref``, ``Fn::...``) is a value, not a map of properties, and stays as it is."""
    if _is_intrinsic(value):
        return value
    return {
        (key[:1].lower() + key[1:] if isinstance(key, str) and key[:1].isupper() else key): item
        for key, item in value.items()
    }


def _camel_case(value: Any, depth: int = 0) -> Any:
    """A container definition with the property names of ECS's API (``logConfiguration``),
    as aws-cdk-lib's L1 object holds it; a template writes CloudFormation's
    (``LogConfiguration``). The keys of option maps are the driver's and stay as they are."""
    if isinstance(value, list):
        return [_camel_case(item, depth) for item in value]
    if not isinstance(value, dict) or depth > 3 or _is_intrinsic(value):
        return value
    return {
        name: item if name == "options" else _camel_case(item, depth + 1)
        for name, item in api_names(value).items()
    }


def _is_intrinsic(value: dict[Any, Any]) -> bool:
    if len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or key == "Condition" or (isinstance(key, str) and key.startswith("Fn::"))


class _SecretsAndFiles:
    """The reader's part for secrets, parameters and files."""

    symbols: Any

    def text(self, value: Any) -> str | None:
        raise NotImplementedError

    def pseudo(self, name: str) -> str:
        raise NotImplementedError

    # -- secrets and parameters ------------------------------------------------------------------

    def _secret(self, container: str, purpose: str, entry: Any, read: TaskRead) -> None:
        if not isinstance(entry, dict):
            return
        value = entry.get("valueFrom")
        name = self.text(entry.get("name")) or ""
        text = self.text(value)
        found = self._secret_arn(text) if text is not None else None
        if found is None:
            shown = self.symbols.display(text if text is not None else value)
            label = f"{purpose} {name}".strip() if name else purpose
            read.unreadable.append(Unreadable(container, label, shown))
            return
        source, arn, partial = found
        read.secrets.append(SecretRef(container, purpose, name, source, arn, partial, value))

    def _secret_arn(self, text: str) -> tuple[SecretSource, str, bool] | None:
        """What a ``valueFrom`` names: a secret (its ARN without a JSON key, stage or
        version, and whether its random suffix is left out) or a parameter (its ARN)."""
        if text.startswith("arn:"):
            rest = Kind.SECRET.name_in(text)
            if rest is not None:
                # Without a JSON key, stage or version.
                name = rest.split(":", 1)[0]
                arn = text[: len(text) - len(rest)] + name
                return SecretSource.SECRET, arn, _SECRET_SUFFIX.search(name) is None
            if Kind.PARAMETER.name_in(text) is not None:
                return SecretSource.PARAMETER, text, False
            return None
        head = PLACEHOLDER.match(text)
        if head is not None:
            unknown = self.symbols.unknown(head[0])
            rest = text[head.end() :]
            kind = unknown.resource_type if unknown is not None else ""
            if kind == "AWS::SecretsManager::Secret" and (not rest or rest.startswith(":")):
                # A secret's Ref is its complete ARN; a JSON key may follow.
                return SecretSource.SECRET, head[0], False
            if kind == "AWS::SSM::Parameter" and not rest:
                return SecretSource.PARAMETER, self.parameter_arn(text), False
            return None
        # A parameter's name, in the task's own region and account.
        return SecretSource.PARAMETER, self.parameter_arn(text), False

    def parameter_arn(self, name: str) -> str:
        """The ARN of the parameter of the task's region and account named ``name``."""
        partition, region, account = (
            self.pseudo(n) for n in ("AWS::Partition", "AWS::Region", "AWS::AccountId")
        )
        return Kind.PARAMETER.arn(partition, region, account, name.removeprefix("/"))

    # -- files -----------------------------------------------------------------------------------

    def _files(self, container: str, definition: dict[str, Any], read: TaskRead) -> None:
        for index, environment_file in enumerate(_as_list(definition.get("environmentFiles"))):
            if isinstance(environment_file, dict) and environment_file.get("type") == "s3":
                self._s3_file(
                    container, "environmentFiles", index, environment_file.get("value"), read
                )
        firelens = definition.get("firelensConfiguration")
        options = firelens.get("options") if isinstance(firelens, dict) else None
        if isinstance(options, dict) and options.get("config-file-type") == "s3":
            self._s3_file(
                container, "firelensConfiguration", 0, options.get("config-file-value"), read
            )
        for index, spec in enumerate(_as_list(definition.get("credentialSpecs"))):
            self._credential_spec(container, index, spec, read)

    def _s3_file(
        self,
        container: str,
        purpose: str,
        index: int,
        value: Any,
        read: TaskRead,
        text: str | None = None,
    ) -> None:
        """An object in S3 named by ``value`` (or by ``text``, the part of its resolved text
        that is the object's ARN)."""
        text = self.text(value) if text is None else text
        match = _S3_OBJECT.match(text) if text is not None else None
        if text is None or match is None:
            shown = self.symbols.display(self.text(value) or value)
            read.unreadable.append(Unreadable(container, purpose, shown))
            return
        read.files.append(File(container, purpose, index, text, match["bucket"], value))

    def _credential_spec(self, container: str, index: int, value: Any, read: TaskRead) -> None:
        text = self.text(value)
        match = _CREDENTIAL_SPEC.match(text) if text is not None else None
        if text is None or match is None:
            shown = self.symbols.display(text if text is not None else value)
            read.unreadable.append(Unreadable(container, "credentialSpecs", shown))
            return
        arn = match["arn"]
        if Kind.PARAMETER.name_in(arn) is not None:
            read.files.append(File(container, "credentialSpecs", index, arn, "", value))
            return
        self._s3_file(container, "credentialSpecs", index, value, read, arn)


class _Reader(_SecretsAndFiles):
    def __init__(self, assembly: Assembly, template: Template) -> None:
        self.assembly = assembly
        self.template = template
        self.symbols = assembly.symbols

    def text(self, value: Any) -> str | None:
        return self.assembly.text(self.template, value)

    def pseudo(self, name: str) -> str:
        return self.assembly.pseudo(self.template, name)

    def container(self, container: dict[str, Any], read: TaskRead) -> None:
        name = self.text(container.get("name")) or "?"
        self._image(name, container.get("image"), read)
        log_configuration = container.get("logConfiguration")
        if isinstance(log_configuration, dict):
            self._logs(name, log_configuration, read)
            for option in _as_list(log_configuration.get("secretOptions")):
                self._secret(name, "secretOptions", option, read)
        for secret in _as_list(container.get("secrets")):
            self._secret(name, "secrets", secret, read)
        credentials = container.get("repositoryCredentials")
        if isinstance(credentials, dict) and "credentialsParameter" in credentials:
            self._secret(
                name,
                "repositoryCredentials",
                {"name": "", "valueFrom": credentials["credentialsParameter"]},
                read,
            )
        self._files(name, container, read)

    # -- images ----------------------------------------------------------------------------------

    def _image(self, container: str, value: Any, read: TaskRead) -> None:
        if value is None:
            return
        text = self.text(value)
        source = self.image_source(text) if text is not None else ImageSource(Registry.UNKNOWN)
        shown = self.symbols.display(text if text is not None else value)
        read.images.append(Image(container, value, shown if text is None else text, source))
        if source.registry is Registry.UNKNOWN:
            read.unreadable.append(Unreadable(container, "image", shown))

    def image_source(self, text: str) -> ImageSource:
        """Where an image comes from, by its resolved text."""
        unknown = self.symbols.unknown(text)
        if unknown is not None and _is_fluent_bit(unknown):
            return ImageSource(Registry.FLUENT_BIT)
        match = _ECR_IMAGE.fullmatch(text)
        if match is None:
            registry, slash, _ = text.partition("/")
            if not slash:
                # A Docker Hub official image ("nginx:1"), unless the text is unknown.
                return ImageSource(Registry.UNKNOWN if PLACEHOLDER.match(text) else Registry.OTHER)
            return ImageSource(Registry.UNKNOWN if PLACEHOLDER.search(registry) else Registry.OTHER)
        split_arn = self._split_arn(match["account"], match["region"])
        if split_arn is not None and PLACEHOLDER.fullmatch(match["name"]):
            return ImageSource(Registry.ECR, split_arn, from_arn=True)
        region = match["region"]
        known = None if PLACEHOLDER.search(region) else partition_of_region(region)
        partition = known or self.pseudo("AWS::Partition")
        arn = Kind.REPOSITORY.arn(partition, region, match["account"], match["name"])
        return ImageSource(Registry.ECR, arn)

    def _split_arn(self, account: str, region: str) -> str | None:
        """The ARN a URI's account and region were split from, when the template does not
        spell that ARN out: ``Fn::Select`` 4 and 3 of ``Fn::Split ':'`` of one value."""
        parts = []
        for text, index in ((account, 4), (region, 3)):
            unknown = self.symbols.unknown(text)
            select = (
                unknown.expression.get("Fn::Select")
                if unknown and _is_dict(unknown.expression)
                else None
            )
            if not (isinstance(select, list) and len(select) == 2 and select[0] == index):
                return None
            split = select[1].get("Fn::Split") if _is_dict(select[1]) else None
            if not (isinstance(split, list) and len(split) == 2 and split[0] == ":"):
                return None
            parts.append(split[1])
        if parts[0] != parts[1]:
            return None
        arn = self.text(parts[0])
        return arn if arn is not None else None

    # -- logs ------------------------------------------------------------------------------------

    def _logs(self, container: str, configuration: dict[str, Any], read: TaskRead) -> None:
        options = configuration.get("options")
        if configuration.get("logDriver") != "awslogs" or not isinstance(options, dict):
            return
        if "awslogs-group" not in options:
            return
        group = self.text(options["awslogs-group"])
        region_value = options.get("awslogs-region", {"Ref": "AWS::Region"})
        region = self.text(region_value)
        prefix = self.text(options.get("awslogs-stream-prefix", "")) or ""
        if group is None or region is None:
            read.unreadable.append(
                Unreadable(container, "awslogs log group", self.symbols.display(options))
            )
            return
        create = self.text(options.get("awslogs-create-group", "false")) or ""
        read.logs.append(
            AwsLogs(
                container,
                group,
                options["awslogs-group"],
                region,
                region_value,
                prefix,
                create.lower() == "true",
            )
        )


def _is_fluent_bit(unknown: Unknown) -> bool:
    """Whether an unknown image is AWS's FireLens image: the value of one of its public SSM
    parameters (by the parameter's declaration, or by the logical ID aws-cdk-lib gives it)."""
    if unknown.ssm_parameter:
        return unknown.ssm_parameter.startswith(FLUENT_BIT_PARAMETER_PREFIX)
    expression = unknown.expression
    reference = expression.get("Ref") if _is_dict(expression) else None
    return isinstance(reference, str) and _FLUENT_BIT_PARAMETER_ID.match(reference) is not None


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] and the dual-stack
# <account>.dkr-ecr[-fips].<region>.on.aws, each part possibly unknown.
_PART = "\x01\\d+\x02"
_ECR_IMAGE = re.compile(
    rf"(?P<account>\d{{12}}|{_PART})\.dkr(?:\.ecr|-ecr)(?:-fips)?\."
    rf"(?P<region>[a-z0-9-]+|{_PART})\.(?:amazonaws\.com(?:\.cn)?|on\.aws|{_PART})/"
    rf"(?P<name>(?:[a-z0-9._/-]|{_PART})+?)"
    rf"(?::(?:[\w.-]|{_PART})+)?(?:@sha256:(?:[0-9a-f]{{64}}|{_PART}))?"
)
# The six random characters Secrets Manager appends to a secret's name in its ARN.
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
# An object of a bucket: arn:<partition>:s3:::<bucket>/<key>, or the ARN of a bucket the
# template does not spell out, followed by /<key>.
_S3_OBJECT = re.compile(rf"^(?P<bucket>arn:[^:]+:s3:::[^/]+|{_PART})/(?P<key>.+)$", re.DOTALL)
_CREDENTIAL_SPEC = re.compile(r"^credentialspec(?:domainless)?:(?P<arn>.+)$", re.DOTALL)
