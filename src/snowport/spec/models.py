"""Typed models of every field of a service specification.

Sources: `specification-reference.md` (the contract; "D-SPEC") and spcs-reference section 12 (the
complete field map, with the newer fields), 5.2 (session token), 5.5 (probes), 5.7 (platform metrics),
6.1/6.6 (endpoints, CORS), 8 (volumes), 9.2 (secrets), 10 (legacy networkPolicyConfig), 3.16
(autoscaling policies), 4.7 (job startup order). Field names are the spec's camelCase names; unknown
fields are refused (spcs-reference 12: only the listed fields exist, e.g. no `restartPolicy`,
`securityContext.runAsUser`, `imagePullPolicy`, `workingDir`). Rules that involve several fields
(unique names, mounts naming declared volumes, ...) are checked in `parse.py`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from snowport.spec.images import ImageRef, ImageRefError, parse_image
from snowport.spec.quantities import as_text, parse_cpu, parse_duration, parse_memory, parse_size

# D-SPEC "General guidelines": container, endpoint and volume names are up to 63 characters of
# lowercase alphanumerics or '-', start with a letter and end with an alphanumeric.
DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
# D-SPEC "serviceRoles field": alphanumerics or '_', start alphabetic, end alphanumeric.
SERVICE_ROLE_NAME = re.compile(r"^[A-Za-z]([A-Za-z0-9_]*[A-Za-z0-9])?$")
# spcs-reference 5.2: token paths are absolute, normalised, of [A-Za-z0-9/_.-].
_TOKEN_PATH = re.compile(r"^/[A-Za-z0-9/_.-]*$")
_PORT_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_ORIGIN = re.compile(r"^https?://[^/\s*?#]+$")


class SpecModel(BaseModel):
    # validated by the spec's (camelCase) names only: `mount_session_token` in a spec is an unknown field
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)

    def to_dict(self) -> dict[str, Any]:
        """The fields as the spec writes them (camelCase), leaving out what was not given."""
        return self.model_dump(by_alias=True, exclude_none=True, exclude_unset=True)


# -- field types -------------------------------------------------------------------------------------


def _dns_label(value: str) -> str:
    if not DNS_LABEL.match(value):
        raise ValueError(
            f"invalid name '{value}': use at most 63 lowercase letters, digits or '-', "
            "starting with a letter and ending with a letter or digit"
        )
    return value


def _text(value: Any) -> Any:
    return as_text(value) if isinstance(value, bool | int | float) else value


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"invalid port {value}: must be between 1 and 65535")
    return value


def _absolute(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"'{value}' must be an absolute path")
    return value


def _memory(value: str) -> str:
    parse_memory(value)
    return value


def _cpu(value: str) -> str:
    parse_cpu(value)
    return value


def _size(value: str) -> str:
    if parse_size(value) <= 0:
        raise ValueError(f"invalid size '{value}': must be positive")
    return value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _one_or_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _image(value: str) -> str:
    try:
        parse_image(value)
    except ImageRefError as e:
        raise ValueError(str(e)) from None
    return value


Name = Annotated[str, AfterValidator(_dns_label)]
Text = Annotated[str, BeforeValidator(_text)]
Port = Annotated[int, AfterValidator(_port)]
AbsolutePath = Annotated[str, AfterValidator(_absolute)]
Memory = Annotated[str, BeforeValidator(_text), AfterValidator(_memory)]
Cpu = Annotated[str, BeforeValidator(_text), AfterValidator(_cpu)]
Size = Annotated[str, BeforeValidator(_text), AfterValidator(_size)]
Duration = Annotated[str, BeforeValidator(_text), AfterValidator(_duration)]
NonNegative = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(gt=0)]
Strings = Annotated[list[Text], BeforeValidator(_one_or_list)]


# -- containers --------------------------------------------------------------------------------------


class Probe(SpecModel):
    """readinessProbe (D-SPEC; defaults from spcs-reference 5.5): HTTP GET `path` on `port`, 200 = ready.
    The port need not be an endpoint (D-SPEC: "You need not declare this port as an endpoint")."""

    port: Port
    path: Text
    period_seconds: Positive = 5
    failure_threshold: Positive = 3


class LivenessProbe(Probe):
    """livenessProbe (spcs-reference 5.5, newest docs): failureThreshold failures restart the container."""

    period_seconds: Positive = 10


class ResourceAmounts(SpecModel):
    """requests or limits: memory (unit required: M, Mi, G, Gi), cpu (vCPUs or millicores), GPUs."""

    memory: Memory | None = None
    cpu: Cpu | None = None
    gpu: NonNegative | None = Field(default=None, alias="nvidia.com/gpu")

    @property
    def memory_bytes(self) -> int | None:
        return parse_memory(self.memory) if self.memory is not None else None

    @property
    def cpu_millis(self) -> int | None:
        return parse_cpu(self.cpu) if self.cpu is not None else None


class Resources(SpecModel):
    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None

    @model_validator(mode="after")
    def _gpu_in_both(self) -> Resources:
        # D-SPEC: "If GPUs are required, they must be requested, and there must also be a limit
        # specified for the same quantity."
        requested = self.requests.gpu if self.requests else None
        limited = self.limits.gpu if self.limits else None
        if (requested or limited) and requested != limited:
            raise ValueError("nvidia.com/gpu must be given in both requests and limits, with the same count")
        return self


class VolumeMount(SpecModel):
    name: Name
    mount_path: AbsolutePath  # spcs-reference 8.1: `mountPath: <absolute path>`


class SecretObject(SpecModel):
    """snowflakeSecret: `objectName` (a secret, resolved against the service's schema unless
    qualified) or `objectReference` (a native-app reference), exactly one (spcs-reference 9.2)."""

    object_name: Text | None = None
    object_reference: Text | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretObject:
        if (self.object_name is None) == (self.object_reference is None):
            raise ValueError("give exactly one of objectName and objectReference")
        return self


def _secret_shorthand(value: Any) -> Any:
    # spcs-reference 9.2: `snowflakeSecret: db.sch.my_secret` is shorthand for objectName.
    return {"objectName": value} if isinstance(value, str) else value


class ContainerSecret(SpecModel):
    snowflake_secret: Annotated[SecretObject, BeforeValidator(_secret_shorthand)]
    secret_key_ref: Literal["username", "password", "secret_string", "access_token"] | None = None
    env_var_name: Text | None = None
    directory_path: AbsolutePath | None = None

    @model_validator(mode="after")
    def _env_xor_directory(self) -> ContainerSecret:
        # D-SPEC containers.secrets: envVarName "Either this or the directoryPath field is required";
        # "When you specify directoryPath, do not specify secretKeyRef."
        if (self.env_var_name is None) == (self.directory_path is None):
            raise ValueError("give exactly one of envVarName and directoryPath")
        if self.directory_path is not None and self.secret_key_ref is not None:
            raise ValueError("secretKeyRef goes with envVarName, not with directoryPath")
        return self


class SessionTokenConfig(SpecModel):
    """spcs-reference 5.2: where the session token is mounted, its file mode, a connections.toml."""

    path: Text | None = None
    permission: Text | None = None
    mount_connection_config: bool = False

    @field_validator("path")
    @classmethod
    def _path_rules(cls, value: str | None) -> str | None:
        # absolute, normalised (no '.', '..', '//' or trailing '/'), characters [A-Za-z0-9/_.-]
        if value is None:
            return value
        if not _TOKEN_PATH.match(value) or posixpath.normpath(value) != value or value == "/":
            raise ValueError(f"invalid path '{value}': use an absolute, normalised path of [A-Za-z0-9/_.-]")
        return value

    @field_validator("permission")
    @classmethod
    def _permission_rules(cls, value: str | None) -> str | None:
        # a quoted 4-digit octal mode, no wider than the default 0644, owner read required
        if value is None:
            return value
        if not re.fullmatch(r"0[0-7]{3}", value):
            raise ValueError(f"invalid permission '{value}': use a quoted 4-digit octal mode such as \"0600\"")
        mode = int(value, 8)
        if mode & ~0o644 or not mode & 0o400:
            raise ValueError(f"invalid permission '{value}': at most 0644, and the owner must be able to read")
        return value

    @model_validator(mode="after")
    def _permission_needs_path(self) -> SessionTokenConfig:
        if self.permission is not None and self.path is None:
            raise ValueError("permission requires path")
        return self


class Container(SpecModel):
    name: Name
    image: Annotated[str, AfterValidator(_image)]
    # The digest Snowflake pins at CREATE, written back into the normalised spec DESCRIBE SERVICE shows
    # (spcs-reference 3.6: `sha256: "@sha256:<digest>"`); accepted so such a spec can be used again.
    sha256: Text | None = None
    command: list[Text] | None = None
    args: list[Text] | None = None
    env: dict[str, Text] = Field(default_factory=dict)
    readiness_probe: Probe | None = None
    liveness_probe: LivenessProbe | None = None
    volume_mounts: list[VolumeMount] = Field(default_factory=list)
    resources: Resources | None = None
    secrets: list[ContainerSecret] = Field(default_factory=list)
    mount_session_token: bool = True
    session_token_config: SessionTokenConfig | None = None

    @field_validator("sha256")
    @classmethod
    def _pinned_digest(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"@?sha256:[0-9a-fA-F]{64}", value):
            raise ValueError(f"invalid digest '{value}': expected @sha256:<64 hex digits>")
        return value

    @property
    def image_ref(self) -> ImageRef:
        ref = parse_image(self.image)
        if self.sha256 and ref.digest is None:
            ref = ref.with_digest(self.sha256.lstrip("@"))
        return ref

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The container's environment as strings: `base` (e.g. the SNOWFLAKE_* variables) overlaid
        with the spec's env, which wins, as in Snowflake (a spec that sets SNOWFLAKE_HOST overrides it)."""
        return {**(base or {}), **self.env}


# -- endpoints ---------------------------------------------------------------------------------------


class CorsSettings(SpecModel):
    """spcs-reference 6.6: allowed origins (required; scheme://host[:port], no '*', no path)."""

    allow_origin: Strings = Field(alias="Access-Control-Allow-Origin", min_length=1)
    allow_methods: Strings | None = Field(default=None, alias="Access-Control-Allow-Methods")
    allow_headers: Strings | None = Field(default=None, alias="Access-Control-Allow-Headers")
    expose_headers: Strings | None = Field(default=None, alias="Access-Control-Expose-Headers")

    @field_validator("allow_origin")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(f"invalid origin '{origin}': use scheme://host[:port], without '*' or a path")
        return origins


class Endpoint(SpecModel):
    name: Name
    port: Port | None = None
    port_range: Text | None = None
    public: bool = False
    protocol: Annotated[Literal["TCP", "HTTP", "HTTPS"], BeforeValidator(_upper)] = "HTTP"
    cors_settings: CorsSettings | None = None

    @field_validator("port_range")
    @classmethod
    def _range(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = _PORT_RANGE.match(value)
        if not match:
            raise ValueError(f"invalid portRange '{value}': expected <port>-<port>")
        low, high = int(match.group(1)), int(match.group(2))
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"invalid portRange '{value}': ports between 1 and 65535, the first not above the last")
        return value

    @model_validator(mode="after")
    def _rules(self) -> Endpoint:
        # D-SPEC spec.endpoints: "You must specify this field [port] or the portRange field."
        if (self.port is None) == (self.port_range is None):
            raise ValueError("give exactly one of port and portRange")
        # D-SPEC: "you can only specify the portRange field if the protocol field is set to TCP and
        # the public field is false."
        if self.port_range is not None and (self.protocol != "TCP" or self.public):
            raise ValueError("portRange needs protocol TCP and public false")
        # D-SPEC: "Public endpoints are not supported with the TCP protocol."
        if self.public and self.protocol == "TCP":
            raise ValueError("a public endpoint must use HTTP or HTTPS, not TCP")
        # spcs-reference 6.1: corsSettings only on public HTTP endpoints.
        if self.cors_settings is not None and not (self.public and self.protocol in ("HTTP", "HTTPS")):
            raise ValueError("corsSettings needs a public HTTP endpoint")
        return self

    @property
    def ports(self) -> tuple[int, int]:
        """(first, last) port this endpoint covers."""
        if self.port is not None:
            return self.port, self.port
        match = _PORT_RANGE.match(self.port_range or "")
        assert match is not None
        return int(match.group(1)), int(match.group(2))


# -- volumes -----------------------------------------------------------------------------------------


class StageAmounts(SpecModel):
    memory: Memory | None = None
    cpu: Cpu | None = None


class StageResources(SpecModel):
    """Resources of the stage-mount sidecar (spcs-reference 8.3)."""

    requests: StageAmounts | None = None
    limits: StageAmounts | None = None


class StageConfig(SpecModel):
    """`source: stage` (spcs-reference 8.3): the stage location, its metadata cache, sidecar resources."""

    name: Text
    metadata_cache: Duration | None = None
    resources: StageResources | None = None

    @field_validator("name")
    @classmethod
    def _stage_location(cls, value: str) -> str:
        if not value.startswith("@") or len(value) < 2:
            raise ValueError(f"invalid stage '{value}': expected \"@<stage>[/<path>]\"")
        return value


class InitialContents(SpecModel):
    from_snapshot: Text


class BlockConfig(SpecModel):
    """`source: block` (D-SPEC, spcs-reference 8.4). Ranges: the widest documented (AWS)."""

    initial_contents: InitialContents | None = None
    iops: Annotated[int, Field(ge=3000, le=80000)] | None = None
    throughput: Annotated[int, Field(ge=125, le=2000)] | None = None
    encryption: Annotated[Literal["SNOWFLAKE_SSE", "SNOWFLAKE_FULL"], BeforeValidator(_upper)] | None = None
    snapshot_on_delete: bool | None = None
    snapshot_delete_after: Text | None = None

    @field_validator("snapshot_delete_after")
    @classmethod
    def _hours_or_days(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[1-9][0-9]*[hd]", value):
            raise ValueError(f"invalid snapshotDeleteAfter '{value}': expected <hours>h or <days>d")
        return value


VolumeSource = Literal["local", "memory", "block", "stage"]


class Volume(SpecModel):
    name: Name
    source: Text
    size: Size | None = None
    uid: NonNegative | None = None
    gid: NonNegative | None = None
    stage_config: StageConfig | None = None
    block_config: BlockConfig | None = None

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        # D-SPEC: "source: This can be local, memory, block, or "@<stagename>""; spcs-reference 8.1 adds
        # `stage` (with stageConfig). "@stage" is the deprecated stage-v1 form.
        if value.startswith("@"):
            if len(value) < 2:
                raise ValueError("invalid source '@': expected \"@<stagename>\"")
            return value
        if value.lower() not in ("local", "memory", "block", "stage"):
            raise ValueError(f"invalid source '{value}': expected local, memory, block, stage or \"@<stage>\"")
        return value.lower()

    @model_validator(mode="after")
    def _rules(self) -> Volume:
        kind = self.kind
        # D-SPEC: "size (required only for the memory and block volume types)"
        if kind in ("memory", "block") and self.size is None:
            raise ValueError(f"a {kind} volume needs a size")
        # D-SPEC: "For block storage, the value must always be an integer, specified using the Gi unit
        # suffix"; "The size value can range from 1Gi to 16384Gi".
        if kind == "block" and self.size is not None:
            match = re.fullmatch(r"([0-9]+)Gi", self.size)
            if not match or not 1 <= int(match.group(1)) <= 16384:
                raise ValueError(f"invalid block volume size '{self.size}': a whole number of Gi, 1Gi to 16384Gi")
        # D-SPEC: uid/gid "optional, only for stage volumes"
        if (self.uid is not None or self.gid is not None) and kind != "stage":
            raise ValueError("uid and gid are only for stage volumes")
        if self.source == "stage" and self.stage_config is None:
            raise ValueError("a stage volume needs stageConfig")
        if self.stage_config is not None and self.source != "stage":
            raise ValueError("stageConfig goes with source: stage")
        if self.block_config is not None and kind != "block":
            raise ValueError("blockConfig goes with source: block")
        return self

    @property
    def kind(self) -> str:
        """local, memory, block or stage (both stage forms)."""
        return "stage" if self.source.startswith("@") else self.source

    @property
    def stage_location(self) -> str | None:
        """`@stage[/path]` for a stage volume, whichever form it was written in."""
        if self.source.startswith("@"):
            return self.source
        return self.stage_config.name if self.stage_config else None

    @property
    def size_bytes(self) -> int | None:
        return parse_size(self.size) if self.size is not None else None


# -- service-wide settings ---------------------------------------------------------------------------


class EventTableConfig(SpecModel):
    log_level: Annotated[Literal["INFO", "ERROR", "NONE"], BeforeValidator(_upper)] = "INFO"


class LogExporters(SpecModel):
    event_table_config: EventTableConfig | None = None


class MetricConfig(SpecModel):
    # spcs-reference 5.7
    groups: list[Annotated[Literal["system", "system_limits", "status", "network", "storage"],
                           BeforeValidator(_lower)]]


class PlatformMonitor(SpecModel):
    metric_config: MetricConfig


class TargetScaling(SpecModel):
    target_value: float


class ScalingStep(SpecModel):
    lower_bound: float | None = None
    upper_bound: float | None = None
    target_adjustment: float


class StepScaling(SpecModel):
    adjustment_type: Literal["changeInstanceCount", "exactInstanceCount", "percentChangeInstanceCount"]
    scaling_steps: list[ScalingStep] = Field(min_length=1)


class MetricCondition(SpecModel):
    """spcs-reference 3.16 (policy-based autoscaling)."""

    metric_name: Text
    labels: dict[str, Text] | None = None
    aggregation_type: Annotated[Literal["min", "max", "avg"], BeforeValidator(_lower)] | None = None
    stabilization_period_secs: NonNegative | None = None
    target_scaling: TargetScaling | None = None
    step_scaling: StepScaling | None = None
    container_name: Text | None = None  # in one doc example (UNVERIFIED field)

    @model_validator(mode="after")
    def _one_scaling(self) -> MetricCondition:
        if (self.target_scaling is None) == (self.step_scaling is None):
            raise ValueError("give exactly one of targetScaling and stepScaling")
        return self


class Condition(SpecModel):
    metric_condition: MetricCondition


class AnyConditions(SpecModel):
    any_conditions: list[Condition] = Field(min_length=1)


class AllConditions(SpecModel):
    all_conditions: list[Condition] = Field(min_length=1)


class SuspendConditions(AllConditions):
    @model_validator(mode="after")
    def _target_only(self) -> SuspendConditions:
        # spcs-reference 3.16: suspend supports targetScaling only.
        if any(c.metric_condition.step_scaling is not None for c in self.all_conditions):
            raise ValueError("suspend conditions support targetScaling only")
        return self


class AutoScalingPolicies(SpecModel):
    scale_up: AnyConditions | None = None
    scale_down: AllConditions | None = None
    suspend: SuspendConditions | None = None


class StartupOrder(SpecModel):
    type: Text  # `FirstInstance` (spcs-reference 4.7, observed in Snowflake's ML jobs)


class ControlPolicy(SpecModel):
    startup_order: StartupOrder | None = None


class ResourceManagement(SpecModel):
    auto_scaling_policies: AutoScalingPolicies | None = None
    control_policy: ControlPolicy | None = None


class NetworkPolicyConfig(SpecModel):
    """Legacy (spcs-reference 10): still in public samples; egress is governed by EAIs instead."""

    allow_internet_egress: bool = False


class Spec(SpecModel):
    # D-LIM (spcs-reference 14): up to 20 containers, 100 endpoints, 20 volumes per service.
    containers: list[Container] = Field(min_length=1, max_length=20)
    endpoints: list[Endpoint] = Field(default_factory=list, max_length=100)
    volumes: list[Volume] = Field(default_factory=list, max_length=20)
    log_exporters: LogExporters | None = None
    platform_monitor: PlatformMonitor | None = None
    resource_management: ResourceManagement | None = None
    network_policy_config: NetworkPolicyConfig | None = None


class SecurityContext(SpecModel):
    execute_as_caller: bool = False
    enable_custom_credentials: bool = False


class Capabilities(SpecModel):
    security_context: SecurityContext | None = None


class ServiceRole(SpecModel):
    name: Text
    endpoints: list[Text] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _role_name(cls, value: str) -> str:
        if not SERVICE_ROLE_NAME.match(value):
            raise ValueError(
                f"invalid service role name '{value}': use letters, digits or '_', "
                "starting with a letter and ending with a letter or digit"
            )
        return value


# -- the whole spec ----------------------------------------------------------------------------------

# spcs-reference 12, resource defaults: a missing request is 0.5 vCPU and 0.5Gi (or the limit, when one
# is given: "whichever is greater", and a request can never exceed its limit, so the limit).
DEFAULT_CPU_MILLIS = 500
DEFAULT_MEMORY_BYTES = 512 * 1024 * 1024


class ResourceTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    cpu_millis: int = 0
    memory_bytes: int = 0
    gpus: int = 0

    def __add__(self, other: ResourceTotals) -> ResourceTotals:
        return ResourceTotals(cpu_millis=self.cpu_millis + other.cpu_millis,
                              memory_bytes=self.memory_bytes + other.memory_bytes, gpus=self.gpus + other.gpus)

    def fits_in(self, other: ResourceTotals) -> bool:
        return (self.cpu_millis <= other.cpu_millis and self.memory_bytes <= other.memory_bytes
                and self.gpus <= other.gpus)


def effective_requests(container: Container) -> ResourceTotals:
    """What the scheduler places a container by: its requests, defaulted as Snowflake does."""
    resources = container.resources or Resources()
    requests = resources.requests or ResourceAmounts()
    limits = resources.limits or ResourceAmounts()
    cpu = requests.cpu_millis if requests.cpu is not None else (limits.cpu_millis or DEFAULT_CPU_MILLIS)
    memory = (requests.memory_bytes if requests.memory is not None
              else (limits.memory_bytes or DEFAULT_MEMORY_BYTES))
    return ResourceTotals(cpu_millis=cpu or 0, memory_bytes=memory or 0, gpus=requests.gpu or 0)


class ServiceSpec(SpecModel):
    """A parsed specification: `spec`, `capabilities` and `serviceRoles` are its only top-level fields
    (spcs-reference 12: "only these three are documented")."""

    spec: Spec
    capabilities: Capabilities | None = None
    service_roles: list[ServiceRole] = Field(default_factory=list)

    @property
    def containers(self) -> list[Container]:
        return self.spec.containers

    def instance_requests(self) -> ResourceTotals:
        """What one instance asks of a node (placement): the sum of its containers' effective requests."""
        total = ResourceTotals()
        for container in self.containers:
            total = total + effective_requests(container)
        return total

    @property
    def requests_resources(self) -> bool:
        """Whether any container states resource requests (without them Snowflake does not autoscale)."""
        return any(c.resources is not None and c.resources.requests is not None for c in self.containers)

    @property
    def endpoints(self) -> list[Endpoint]:
        return self.spec.endpoints

    @property
    def volumes(self) -> list[Volume]:
        return self.spec.volumes

    def container(self, name: str) -> Container | None:
        return next((c for c in self.spec.containers if c.name == name), None)

    def endpoint(self, name: str) -> Endpoint | None:
        """The endpoint called `name` (names are lower case; a service function's ENDPOINT = may be
        written in any case, so the lookup folds it)."""
        return next((e for e in self.spec.endpoints if e.name == name.lower()), None)

    def volume(self, name: str) -> Volume | None:
        return next((v for v in self.spec.volumes if v.name == name), None)

    def service_role(self, name: str) -> ServiceRole | None:
        return next((r for r in self.service_roles if r.name.upper() == name.upper()), None)

    @property
    def public_endpoints(self) -> list[Endpoint]:
        return [e for e in self.spec.endpoints if e.public]

    def image_refs(self) -> dict[str, ImageRef]:
        """Container name -> parsed image reference."""
        return {c.name: c.image_ref for c in self.spec.containers}

    def requests_per_instance(self) -> ResourceTotals:
        """The resources one instance asks for: the sum of its containers' (defaulted) requests."""
        total = ResourceTotals()
        for container in self.spec.containers:
            total = total + effective_requests(container)
        return total

    def has_resource_requests(self) -> bool:
        """True when some container requests cpu or memory explicitly (spcs-reference 3.16: without
        requests there is no CPU-based autoscaling)."""
        for container in self.spec.containers:
            requests = container.resources.requests if container.resources else None
            if requests is not None and (requests.cpu is not None or requests.memory is not None):
                return True
        return False

    @property
    def execute_as_caller(self) -> bool:
        context = self.capabilities.security_context if self.capabilities else None
        return bool(context and context.execute_as_caller)
