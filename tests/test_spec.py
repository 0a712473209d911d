"""Service specifications (snowport.spec): pure functions, no server."""

from __future__ import annotations

import json

import pytest

from snowport.errors import SnowflakeError
from snowport.spec import (
    ImageRef,
    ImageRefError,
    ServiceSpec,
    SpecError,
    effective_requests,
    parse_cpu,
    parse_duration,
    parse_image,
    parse_memory,
    parse_quantity,
    parse_size,
    parse_spec,
    render_template,
)

HOST = "127.0.0.1:8080"

# tutorial-sql.md / tutorial-python-api.md, "Configure and Push the Spec YAML", verbatim but for the
# <repository_hostname> the tutorial tells the reader to fill in.
JUPYTER = """spec:
  containers:
    - name: jupyter-snowpark
      image: <repository_hostname>/container_hol_db/public/image_repo/python-jupyter-snowpark:dev
      volumeMounts:
        - name: jupyter-home
          mountPath: /home/jupyter
  endpoints:
    - name: jupyter-snowpark
      port: 8888
      public: true
  volumes:
    - name: jupyter-home
      source: "@volumes/jupyter-snowpark"
      uid: 1000
      gid: 1000

"""

CONVERT_API = """spec:
  containers:
    - name: convert-api
      image: <repository_hostname>/container_hol_db/public/image_repo/convert-api:dev
  endpoints:
    - name: convert-api
      port: 9090
      public: true
"""

# specification-reference.md, spec.endpoints example (Tutorial 1): the singular `container`/`endpoint`.
ECHO_SINGULAR = """spec:
  container:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/echo_service:dev
    env:
      SERVER_PORT: 8000
      CHARACTER_NAME: Bob
    readinessProbe:
      port: 8000
      path: /healthcheck
  endpoint:
  - name: echoendpoint
    port: 8000
    public: true
"""

MINIMAL = """spec:
  containers:
  - name: main
    image: /db/sch/repo/img:1
"""


def refused(text: str, using: dict | None = None) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, using)
    return info.value


def message(path: str | None, problem: str, line: int | None) -> str:
    detail = f"{path}: {problem}" if path else problem
    if line is not None:
        detail += f" (line {line})"
    return f"SQL compilation error:\nInvalid spec: {detail}"


# -- the tutorials' specs -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", [HOST, "myorg-myacct.registry.snowflakecomputing.com"])
def test_jupyter_spec(host: str) -> None:
    spec = parse_spec(JUPYTER.replace("<repository_hostname>", host))
    (container,) = spec.containers
    assert container.name == "jupyter-snowpark"
    ref = container.image_ref
    assert (ref.host, ref.database, ref.schema, ref.repository, ref.image, ref.tag) == (
        host, "container_hol_db", "public", "image_repo", "python-jupyter-snowpark", "dev")
    assert ref.object_names() == ("CONTAINER_HOL_DB", "PUBLIC", "IMAGE_REPO")
    assert [(m.name, m.mount_path) for m in container.volume_mounts] == [("jupyter-home", "/home/jupyter")]
    endpoint = spec.endpoint("jupyter-snowpark")
    assert endpoint is not None and (endpoint.port, endpoint.public, endpoint.protocol) == (8888, True, "HTTP")
    (volume,) = spec.volumes
    assert (volume.kind, volume.stage_location, volume.uid, volume.gid) == ("stage", "@volumes/jupyter-snowpark",
                                                                          1000, 1000)
    assert container.mount_session_token is True and container.env == {}


def test_convert_api_spec() -> None:
    spec = parse_spec(CONVERT_API.replace("<repository_hostname>", HOST))
    assert [c.name for c in spec.containers] == ["convert-api"]
    assert spec.containers[0].image_ref.name == "container_hol_db/public/image_repo/convert-api"
    assert [(e.name, e.port, e.public) for e in spec.endpoints] == [("convert-api", 9090, True)]
    assert spec.volumes == [] and spec.service_roles == []


def test_tutorial_spec_with_its_placeholder_left_in_is_refused_at_the_image() -> None:
    error = refused(JUPYTER)
    assert error.path == "spec.containers[0].image" and error.line == 4
    assert "invalid" in error.problem


def test_singular_container_and_endpoint_are_aliases() -> None:
    spec = parse_spec(ECHO_SINGULAR)
    assert spec.containers[0].env == {"SERVER_PORT": "8000", "CHARACTER_NAME": "Bob"}
    assert spec.containers[0].readiness_probe is not None
    probe = spec.containers[0].readiness_probe
    assert (probe.port, probe.path, probe.period_seconds, probe.failure_threshold) == (8000, "/healthcheck", 5, 3)
    assert spec.endpoint("ECHOENDPOINT") is spec.endpoints[0]


def test_singular_alias_keeps_the_written_path_in_errors() -> None:
    error = refused(ECHO_SINGULAR.replace("path: /healthcheck", "path: /healthcheck\n      timeout: 3"))
    assert error.message == message("spec.container[0].readinessProbe.timeout", "unknown field", 11)


def test_singular_and_plural_together_are_refused() -> None:
    error = refused(MINIMAL + "  container:\n  - name: other\n    image: /db/sch/repo/img\n")
    assert error.message == message("spec.container", "'container' repeats 'containers'", 5)


# -- every field family -------------------------------------------------------------------------------

FULL = """spec:
  containers:
  - name: app
    image: /db/sch/repo/app:1.2
    command: [python3, main.py]
    args: [--port, 8000, --debug, true]
    env:
      SERVER_PORT: 8000
      DEBUG: true
      RATIO: 1.50
      EMPTY:
      QUOTED: "007"
    readinessProbe: {port: 8000, path: /ready}
    livenessProbe: {port: 8000, path: /alive, failureThreshold: 5}
    volumeMounts:
    - {name: logs, mountPath: /opt/logs}
    - {name: shm, mountPath: /dev/shm}
    - {name: block-vol, mountPath: /data}
    - {name: models, mountPath: /models}
    resources:
      requests: {memory: 2G, cpu: 0.5, nvidia.com/gpu: 1}
      limits: {memory: 4Gi, cpu: "2", nvidia.com/gpu: 1}
    secrets:
    - snowflakeSecret: {objectName: db.sch.creds}
      secretKeyRef: username
      envVarName: LOGIN_USER
    - snowflakeSecret: db.sch.creds
      directoryPath: /usr/local/creds
    - snowflakeSecret: {objectReference: consumer_secret}
      envVarName: TOKEN
      secretKeyRef: access_token
    mountSessionToken: true
    sessionTokenConfig: {path: /var/run/token, permission: "0600", mountConnectionConfig: true}
  - name: logger
    image: org-acct.registry.snowflakecomputing.com/db/sch/repo/logger@sha256:""" + "a" * 64 + """
    volumeMounts:
    - {name: logs, mountPath: /logs}
    - {name: logs, mountPath: /logs-again}
    resources:
      requests: {memory: 500Mi, cpu: 250m}
  endpoints:
  - name: api
    port: 8000
    public: true
    protocol: https
    corsSettings:
      Access-Control-Allow-Origin: ["https://example.com", "https://example.com:12345"]
      Access-Control-Allow-Methods: [GET, POST]
      Access-Control-Allow-Headers: [Authorization, Content-Type]
      Access-Control-Expose-Headers: X-My-Header
  - name: ray
    portRange: 32768-60999
    protocol: TCP
  volumes:
  - {name: logs, source: local}
  - {name: shm, source: memory, size: 2G}
  - name: block-vol
    source: block
    size: 10Gi
    blockConfig:
      initialContents: {fromSnapshot: db.sch.snap}
      iops: 3000
      throughput: 125
      encryption: snowflake_sse
      snapshotOnDelete: true
      snapshotDeleteAfter: 7d
  - name: models
    source: stage
    stageConfig:
      name: "@db.sch.models/v1"
      metadataCache: 1h30m
      resources:
        requests: {cpu: 0, memory: 0.5Gi}
        limits: {cpu: 0.5, memory: 1Gi}
    uid: 65532
    gid: 65532
  logExporters:
    eventTableConfig:
      logLevel: error
  platformMonitor:
    metricConfig:
      groups: [system, system_limits, status, network, storage]
  resourceManagement:
    autoScalingPolicies:
      scaleUp:
        anyConditions:
        - metricCondition:
            metricName: container.cpu.usage
            labels: {snow.endpoint.name: api}
            aggregationType: avg
            stabilizationPeriodSecs: 60
            targetScaling: {targetValue: 1.0}
      scaleDown:
        allConditions:
        - metricCondition:
            metricName: container.cpu.usage
            stepScaling:
              adjustmentType: changeInstanceCount
              scalingSteps:
              - {lowerBound: 0.6, upperBound: 0.8, targetAdjustment: 25}
      suspend:
        allConditions:
        - metricCondition: {metricName: network.ingress.cps, targetScaling: {targetValue: 0}}
    controlPolicy:
      startupOrder: {type: FirstInstance}
  networkPolicyConfig:
    allowInternetEgress: true
capabilities:
  securityContext:
    executeAsCaller: true
    enableCustomCredentials: false
serviceRoles:
- name: api_users
  endpoints: [api]
- name: Ops
  endpoints: [api, ray]
"""


@pytest.fixture(scope="module")
def full() -> ServiceSpec:
    return parse_spec(FULL)


def test_containers(full: ServiceSpec) -> None:
    app = full.container("app")
    assert app is not None
    assert app.command == ["python3", "main.py"]
    assert app.args == ["--port", "8000", "--debug", "true"]
    assert app.liveness_probe is not None and (app.liveness_probe.period_seconds,
                                               app.liveness_probe.failure_threshold) == (10, 5)
    assert app.session_token_config is not None
    assert (app.session_token_config.path, app.session_token_config.permission,
            app.session_token_config.mount_connection_config) == ("/var/run/token", "0600", True)
    logger = full.container("logger")
    assert logger is not None and logger.image_ref.digest == "sha256:" + "a" * 64
    assert logger.image_ref.host == "org-acct.registry.snowflakecomputing.com"


def test_env_values_are_strings_as_written(full: ServiceSpec) -> None:
    app = full.container("app")
    assert app is not None
    assert app.env == {"SERVER_PORT": "8000", "DEBUG": "true", "RATIO": "1.50", "EMPTY": "", "QUOTED": "007"}
    assert app.environment({"SNOWFLAKE_HOST": "h", "DEBUG": "false"}) == {"SNOWFLAKE_HOST": "h", **app.env}


def test_resources(full: ServiceSpec) -> None:
    app = full.container("app")
    assert app is not None and app.resources is not None
    requests, limits = app.resources.requests, app.resources.limits
    assert requests is not None and limits is not None
    assert (requests.memory_bytes, requests.cpu_millis, requests.gpu) == (2_000_000_000, 500, 1)
    assert (limits.memory_bytes, limits.cpu_millis, limits.gpu) == (4 * 1024**3, 2000, 1)
    total = full.requests_per_instance()
    assert (total.cpu_millis, total.memory_bytes, total.gpus) == (750, 2_000_000_000 + 500 * 1024**2, 1)
    assert full.has_resource_requests()


def test_secrets(full: ServiceSpec) -> None:
    app = full.container("app")
    assert app is not None
    first, second, third = app.secrets
    assert (first.snowflake_secret.object_name, first.secret_key_ref, first.env_var_name) == (
        "db.sch.creds", "username", "LOGIN_USER")
    assert (second.snowflake_secret.object_name, second.directory_path) == ("db.sch.creds", "/usr/local/creds")
    assert third.snowflake_secret.object_reference == "consumer_secret"


def test_endpoints(full: ServiceSpec) -> None:
    api, ray = full.endpoints
    assert (api.protocol, api.public, api.ports) == ("HTTPS", True, (8000, 8000))
    assert api.cors_settings is not None
    assert api.cors_settings.allow_origin == ["https://example.com", "https://example.com:12345"]
    assert api.cors_settings.expose_headers == ["X-My-Header"]
    assert (ray.port, ray.ports, ray.public) == (None, (32768, 60999), False)
    assert full.public_endpoints == [api]


def test_volumes(full: ServiceSpec) -> None:
    logs, shm, block, models = full.volumes
    assert (logs.kind, shm.kind, shm.size_bytes) == ("local", "memory", 2_000_000_000)
    assert block.block_config is not None and block.size_bytes == 10 * 1024**3
    assert block.block_config.encryption == "SNOWFLAKE_SSE"
    assert block.block_config.initial_contents is not None
    assert block.block_config.initial_contents.from_snapshot == "db.sch.snap"
    assert models.kind == "stage" and models.stage_location == "@db.sch.models/v1"
    assert models.stage_config is not None and parse_duration(models.stage_config.metadata_cache) == 5400


def test_service_wide_settings(full: ServiceSpec) -> None:
    spec = full.spec
    assert spec.log_exporters is not None and spec.log_exporters.event_table_config is not None
    assert spec.log_exporters.event_table_config.log_level == "ERROR"
    assert spec.platform_monitor is not None
    assert spec.platform_monitor.metric_config.groups == ["system", "system_limits", "status", "network", "storage"]
    policies = spec.resource_management.auto_scaling_policies if spec.resource_management else None
    assert policies is not None and policies.scale_up is not None
    assert policies.scale_up.any_conditions[0].metric_condition.labels == {"snow.endpoint.name": "api"}
    assert spec.network_policy_config is not None and spec.network_policy_config.allow_internet_egress
    assert full.execute_as_caller
    assert [(r.name, r.endpoints) for r in full.service_roles] == [("api_users", ["api"]), ("Ops", ["api", "ray"])]
    assert full.service_role("OPS") is full.service_roles[1]


def test_to_dict_round_trips(full: ServiceSpec) -> None:
    data = full.to_dict()
    assert data["spec"]["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert "Access-Control-Allow-Origin" in data["spec"]["endpoints"][0]["corsSettings"]
    assert parse_spec(json.dumps(data)) == full


def test_defaults_without_resources() -> None:
    spec = parse_spec(MINIMAL)
    total = spec.requests_per_instance()
    assert (total.cpu_millis, total.memory_bytes, total.gpus) == (500, 512 * 1024**2, 0)
    assert not spec.has_resource_requests()
    limited = parse_spec(MINIMAL + "    resources:\n      limits: {cpu: 2, memory: 8Gi}\n")
    requests = effective_requests(limited.containers[0])
    assert (requests.cpu_millis, requests.memory_bytes) == (2000, 8 * 1024**3)


# -- JSON text ----------------------------------------------------------------------------------------


def test_json_spec_as_the_snow_cli_sends_it() -> None:
    data = {"spec": {"containers": [{"name": "echo", "image": "/db/sch/repo/echo:latest",
                                     "env": {"PORT": 8000, "ON": True}}],
                     "endpoints": [{"name": "e", "port": 8000, "public": True}]}}
    spec = parse_spec(json.dumps(data))
    assert spec.containers[0].env == {"PORT": "8000", "ON": "true"}


def test_json_indented_with_tabs_and_its_error_lines() -> None:
    text = '{\n\t"spec": {\n\t\t"containers": [{\n\t\t\t"name": "echo",\n\t\t\t"image": "/db/sch/repo/echo",\n' \
           '\t\t\t"bogus": 1\n\t\t}]\n\t}\n}'
    assert refused(text).message == message("spec.containers[0].bogus", "unknown field", 6)
    assert parse_spec(text.replace(',\n\t\t\t"bogus": 1', "")).containers[0].name == "echo"


# -- quantities ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("2G", 2_000_000_000), ("2Gi", 2 * 1024**3), ("100M", 100_000_000), ("5Mi", 5 * 1024**2), ("0.5Gi", 512 * 1024**2),
])
def test_memory(value: str, expected: int) -> None:
    assert parse_memory(value) == expected


@pytest.mark.parametrize("value", ["5", 5, "5Ki", "5k", "2 GB", "-1G", "G", "1.5.2G", True])
def test_memory_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_memory(value)


@pytest.mark.parametrize(("value", "expected"), [
    (0.5, 500), ("500m", 500), (1, 1000), ("2", 2000), ("0.25", 250), ("1500m", 1500), (0, 0),
])
def test_cpu(value: object, expected: int) -> None:
    assert parse_cpu(value) == expected


@pytest.mark.parametrize("value", ["1G", "0.0001", "abc", "1.5m"])
def test_cpu_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_cpu(value)


def test_sizes_quantities_and_durations() -> None:
    assert parse_size("4Ki") == 4096 and parse_size("4k") == 4000 and parse_size(1000) == 1000
    assert parse_quantity("500m") == parse_quantity("0.5")
    with pytest.raises(ValueError):
        parse_size("1.5")
    assert parse_duration("1h30m") == 5400 and parse_duration("45s") == 45 and parse_duration("7d") == 604800
    with pytest.raises(ValueError):
        parse_duration("90 minutes")


# -- templates ----------------------------------------------------------------------------------------

TEMPLATE = """spec:
  containers:
  - name: echo
    image: /tutorial_db/data_schema/tutorial_repository/{{ image_name }}:{{tag|default('latest')}}
    env: {{ env_values }}
    args: {{ARGS}}
    readinessProbe:
      port: {{ port }}
      path: {{ probe_path }}
  endpoints:
  - name: {{ endpoint_name | default('echo-endpoint', true) }}
    port: {{ port }}
    public: {{ public | default(false) }}
"""


def test_template_with_using_values() -> None:
    using = {"image_name": "my_echo_service_image", "env_values": '{"SERVER_PORT": 8000, "CHARACTER_NAME": "Bob"}',
             "ARGS": '["-n", 2]', "port": 8000, "probe_path": ' "/healthcheck" ', "endpoint_name": ""}
    spec = parse_spec(TEMPLATE, using)
    (container,) = spec.containers
    assert container.image == "/tutorial_db/data_schema/tutorial_repository/my_echo_service_image:latest"
    assert container.env == {"SERVER_PORT": "8000", "CHARACTER_NAME": "Bob"}
    assert container.args == ["-n", "2"]
    assert container.readiness_probe is not None and container.readiness_probe.path == "/healthcheck"
    assert [(e.name, e.port, e.public) for e in spec.endpoints] == [("echo-endpoint", 8000, False)]


def test_template_values_as_python_values() -> None:
    rendered = render_template("a: {{ a }}\nb: {{ b }}\nc: {{ c }}\nd: {{ d }}\ne: {{ e }}\n",
                               {"a": 111, "b": True, "c": -1.2, "d": ["x", 1], "e": "blah123"})
    assert rendered == 'a: 111\nb: true\nc: -1.2\nd: ["x", 1]\ne: blah123\n'


def test_template_default_and_empty_values() -> None:
    assert render_template("{{ v | default('Bob') }}", {"v": ""}) == ""
    assert render_template("{{ v | default('Bob', true) }}", {"v": ""}) == "Bob"
    assert render_template('{{ v | default("Bob") }}', {}) == "Bob"
    assert render_template("{{ v | default(3) }}", {"v": "x1"}) == "x1"


def test_template_variables_are_case_sensitive() -> None:
    error = refused(TEMPLATE, {"IMAGE_NAME": "x", "env_values": "{}", "ARGS": "[]", "port": 1, "probe_path": "p"})
    assert error.message == message(None, "template variable 'image_name' has no value: give it in USING or a default",
                                    4)


def test_template_missing_variable_names_it_and_its_line() -> None:
    using = {"image_name": "x", "env_values": "{}", "ARGS": "[]", "probe_path": '"/p"'}
    error = refused(TEMPLATE, using)
    assert error.message == message(None, "template variable 'port' has no value: give it in USING or a default", 8)


def test_template_refuses_an_unquoted_path_value_and_bad_expressions() -> None:
    error = refused(TEMPLATE, {"probe_path": "/healthcheck"})
    assert "must be an alphanumeric literal or JSON text" in error.message
    assert refused("a: {{ a + 1 }}", {"a": 1}).message == message(None, "invalid template expression '{{ a + 1 }}'", 1)
    assert "invalid default" in refused("a: {{ a | default(nope) }}", {}).message


def test_no_using_means_no_template_processing() -> None:
    error = refused(MINIMAL.replace("img:1", "img:{{ tag }}"))
    assert error.path == "spec.containers[0].image"


# -- errors: path and line ----------------------------------------------------------------------------


def test_error_is_a_snowflake_compilation_error() -> None:
    error = refused(MINIMAL + "    bogus: 1\n")
    assert isinstance(error, SnowflakeError)
    assert (error.code_str, error.sqlstate) == ("002025", "22023")
    assert error.message == message("spec.containers[0].bogus", "unknown field", 5)
    assert (error.path, error.problem, error.line) == ("spec.containers[0].bogus", "unknown field", 5)


@pytest.mark.parametrize(("text", "path", "problem", "line"), [
    # unknown fields, at every level (Snowflake refuses fields it does not know)
    (MINIMAL + "    restartPolicy: Always\n", "spec.containers[0].restartPolicy", "unknown field", 5),
    (MINIMAL + "    securityContext: {runAsUser: 1000}\n", "spec.containers[0].securityContext", "unknown field", 5),
    (MINIMAL + "  replicas: 2\n", "spec.replicas", "unknown field", 5),
    (MINIMAL + "metadata: {}\n", "metadata", "unknown field", 5),
    (MINIMAL + "capabilities:\n  securityContext:\n    runAsUser: 0\n", "capabilities.securityContext.runAsUser",
     "unknown field", 7),
    # missing required fields
    ("spec:\n  containers:\n  - name: main\n", "spec.containers[0].image", "required field is missing", 3),
    ("spec:\n  endpoints: []\n", "spec.containers", "required field is missing", 1),
    ("spec:\n  containers: []\n", "spec.containers", "must have at least 1 item(s)", 2),
    ("serviceRoles: []\n", "spec", "required field is missing", 1),
    # bad types
    (MINIMAL + "    env: [A=1]\n", "spec.containers[0].env", "must be a mapping", 5),
    (MINIMAL + "    env:\n      A: {b: 1}\n", "spec.containers[0].env.A", "must be a string", 6),
    (MINIMAL + "    command: run.sh\n", "spec.containers[0].command", "must be a list", 5),
    (MINIMAL + "    readinessProbe: {port: http, path: /}\n", "spec.containers[0].readinessProbe.port",
     "must be an integer", 5),
    (MINIMAL + "  endpoints:\n  - name: e\n    port: 80\n    public: maybe\n", "spec.endpoints[0].public",
     "must be true or false", 8),
    (MINIMAL + "    image: /db/sch/repo/img:2\n", "spec.containers[0].image", "duplicate field", 5),
    # names
    (MINIMAL.replace("name: main", "name: Main"), "spec.containers[0].name",
     "invalid name 'Main': use at most 63 lowercase letters, digits or '-', starting with a letter and ending with "
     "a letter or digit", 3),
    (MINIMAL.replace("name: main", "name: " + "a" * 64), "spec.containers[0].name",
     "invalid name '" + "a" * 64 + "': use at most 63 lowercase letters, digits or '-', starting with a letter and "
     "ending with a letter or digit", 3),
    (MINIMAL + "  - name: main\n    image: /db/sch/repo/other\n", "spec.containers[1].name", "duplicate name 'main'",
     5),
    # volumes and mounts
    (MINIMAL + "    volumeMounts:\n    - {name: data, mountPath: /data}\n", "spec.containers[0].volumeMounts[0].name",
     "volume 'data' is not declared in spec.volumes", 6),
    (MINIMAL + "    volumeMounts:\n    - {name: data, mountPath: data}\n  volumes:\n  - {name: data, source: local}\n",
     "spec.containers[0].volumeMounts[0].mountPath", "'data' must be an absolute path", 6),
    (MINIMAL + "  volumes:\n  - {name: shm, source: memory}\n", "spec.volumes[0]", "a memory volume needs a size", 6),
    (MINIMAL + "  volumes:\n  - {name: b, source: block, size: 10G}\n", "spec.volumes[0]",
     "invalid block volume size '10G': a whole number of Gi, 1Gi to 16384Gi", 6),
    (MINIMAL + "  volumes:\n  - {name: l, source: local, uid: 1000}\n", "spec.volumes[0]",
     "uid and gid are only for stage volumes", 6),
    (MINIMAL + "  volumes:\n  - {name: s, source: nfs}\n", "spec.volumes[0].source",
     "invalid source 'nfs': expected local, memory, block, stage or \"@<stage>\"", 6),
    (MINIMAL + "  volumes:\n  - {name: s, source: stage}\n", "spec.volumes[0]", "a stage volume needs stageConfig", 6),
    (MINIMAL + "  volumes:\n  - {name: a, source: local}\n  - {name: a, source: local}\n", "spec.volumes[1].name",
     "duplicate name 'a'", 7),
    # resources
    (MINIMAL + "    resources:\n      requests:\n        memory: 512\n",
     "spec.containers[0].resources.requests.memory", "invalid memory '512': a unit is required, one of M, Mi, G, Gi",
     7),
    (MINIMAL + "    resources:\n      requests: {cpu: 1G}\n", "spec.containers[0].resources.requests.cpu",
     "invalid cpu '1G': use vCPUs (0.5) or millicores (500m)", 6),
    (MINIMAL + "    resources:\n      requests: {nvidia.com/gpu: 1}\n", "spec.containers[0].resources",
     "nvidia.com/gpu must be given in both requests and limits, with the same count", 5),
    # endpoints
    (MINIMAL + "  endpoints:\n  - {name: e, port: 80, portRange: 80-90, protocol: TCP}\n", "spec.endpoints[0]",
     "give exactly one of port and portRange", 6),
    (MINIMAL + "  endpoints:\n  - {name: e, portRange: 80-90}\n", "spec.endpoints[0]",
     "portRange needs protocol TCP and public false", 6),
    (MINIMAL + "  endpoints:\n  - {name: e, port: 5432, protocol: TCP, public: true}\n", "spec.endpoints[0]",
     "a public endpoint must use HTTP or HTTPS, not TCP", 6),
    (MINIMAL + "  endpoints:\n  - {name: e, port: 70000}\n", "spec.endpoints[0].port",
     "invalid port 70000: must be between 1 and 65535", 6),
    (MINIMAL + "  endpoints:\n  - {name: e, port: 80, protocol: UDP}\n", "spec.endpoints[0].protocol",
     "must be one of 'TCP', 'HTTP' or 'HTTPS', not 'UDP'", 6),
    (MINIMAL + "  endpoints:\n  - name: e\n    port: 80\n    corsSettings:\n"
     "      Access-Control-Allow-Origin: ['*']\n", "spec.endpoints[0].corsSettings.Access-Control-Allow-Origin",
     "invalid origin '*': use scheme://host[:port], without '*' or a path", 9),
    # secrets and the session token
    (MINIMAL + "    secrets:\n    - {snowflakeSecret: s, envVarName: A, directoryPath: /s}\n",
     "spec.containers[0].secrets[0]", "give exactly one of envVarName and directoryPath", 6),
    (MINIMAL + "    secrets:\n    - {snowflakeSecret: s, directoryPath: /s, secretKeyRef: password}\n",
     "spec.containers[0].secrets[0]", "secretKeyRef goes with envVarName, not with directoryPath", 6),
    (MINIMAL + "    secrets:\n    - {snowflakeSecret: s, envVarName: A, secretKeyRef: pin}\n",
     "spec.containers[0].secrets[0].secretKeyRef",
     "must be one of 'username', 'password', 'secret_string' or 'access_token', not 'pin'", 6),
    (MINIMAL + "    sessionTokenConfig: {path: /t, permission: '0666'}\n",
     "spec.containers[0].sessionTokenConfig.permission",
     "invalid permission '0666': at most 0644, and the owner must be able to read", 5),
    (MINIMAL + "    sessionTokenConfig: {path: /a/../t}\n", "spec.containers[0].sessionTokenConfig.path",
     "invalid path '/a/../t': use an absolute, normalised path of [A-Za-z0-9/_.-]", 5),
    # service roles
    (MINIMAL + "serviceRoles:\n- name: users\n  endpoints: [api]\n", "serviceRoles[0].endpoints[0]",
     "endpoint 'api' is not declared in spec.endpoints", 7),
    (MINIMAL + "serviceRoles:\n- name: _users\n  endpoints: [api]\n", "serviceRoles[0].name",
     "invalid service role name '_users': use letters, digits or '_', starting with a letter and ending with a "
     "letter or digit", 6),
    (MINIMAL + "serviceRoles:\n- name: users\n", "serviceRoles[0].endpoints", "required field is missing", 6),
    # log level, metric groups
    (MINIMAL + "  logExporters:\n    eventTableConfig: {logLevel: DEBUG}\n",
     "spec.logExporters.eventTableConfig.logLevel", "must be one of 'INFO', 'ERROR' or 'NONE', not 'DEBUG'", 6),
])
def test_invalid_spec(text: str, path: str, problem: str, line: int) -> None:
    error = refused(text)
    assert error.message == message(path, problem, line)


def test_invalid_image_reference() -> None:
    error = refused(MINIMAL.replace("/db/sch/repo/img:1", "/db/sch/img:1"))
    assert error.message == message(
        "spec.containers[0].image",
        "invalid image reference '/db/sch/img:1': expected /<db>/<schema>/<repository>/<image>[:<tag>]", 4)


@pytest.mark.parametrize(("text", "problem", "line"), [
    ("spec:\n  containers:\n  - name: a\n   image: x\n", "invalid YAML: expected <block end>, but found '<block mapping start>'", 4),
    ("spec: [unclosed\n", "invalid YAML: expected ',' or ']', but got '<stream end>'", 2),
    ("", "the specification is empty", 1),
    ("# only a comment\n", "the specification is empty", 1),
    ("- spec\n", "the specification must be a mapping with a 'spec' field", 1),
    ("spec: 1\n---\nspec: 2\n", "invalid YAML: but found another document", 2),
])
def test_unreadable_text(text: str, problem: str, line: int) -> None:
    assert refused(text).message == message(None, problem, line)


def test_yaml_anchors_and_merge_keys_are_read() -> None:
    text = ("spec:\n  containers:\n  - &base\n    name: a\n    image: /db/sch/repo/img\n"
            "  - <<: *base\n    name: b\n")
    assert [c.name for c in parse_spec(text).containers] == ["a", "b"]


def test_leading_document_marker_as_describe_shows_it() -> None:
    text = '---\nspec:\n  containers:\n  - name: "echo"\n    image: "/db/sch/repo/echo:latest"\n' \
           '    sha256: "@sha256:' + "d" * 64 + '"\n    env:\n      SERVER_PORT: "8000"\n'
    spec = parse_spec(text)
    assert spec.containers[0].image_ref.digest == "sha256:" + "d" * 64


# -- image references ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fields"), [
    ("/tutorial_db/data_schema/tutorial_repository/echo:dev",
     (None, "tutorial_db", "data_schema", "tutorial_repository", "echo", "dev", None)),
    ("tutorial_db/data_schema/tutorial_repository/echo",
     (None, "tutorial_db", "data_schema", "tutorial_repository", "echo", None, None)),
    ("127.0.0.1:8080/db/sch/repo/team/app:1.0",
     ("127.0.0.1:8080", "db", "sch", "repo", "team/app", "1.0", None)),
    ("localhost:8080/db/sch/repo/app@sha256:" + "b" * 64,
     ("localhost:8080", "db", "sch", "repo", "app", None, "sha256:" + "b" * 64)),
    ("org-acct.registry.snowflakecomputing.com/DB/SCH/Repo/App:V1@sha256:" + "c" * 64,
     ("org-acct.registry.snowflakecomputing.com", "DB", "SCH", "Repo", "App", "V1", "sha256:" + "c" * 64)),
    ("/snowflake/images/snowflake_images/monitoring-prometheus-sidecar:0.0.1",
     (None, "snowflake", "images", "snowflake_images", "monitoring-prometheus-sidecar", "0.0.1", None)),
    ("my_repo/my_job_image:latest", (None, None, None, "my_repo", "my_job_image", "latest", None)),
])
def test_image_forms(text: str, fields: tuple) -> None:
    ref = parse_image(text)
    assert (ref.host, ref.database, ref.schema, ref.repository, ref.image, ref.tag, ref.digest) == fields
    assert parse_image(str(ref)) == ref


def test_image_normalisation_and_names() -> None:
    ref = ImageRef.parse("Registry.Example.com:443/Tutorial_DB/Data_Schema/Repo/Echo:Dev")
    assert ref.normalized() == ImageRef("registry.example.com:443", "tutorial_db", "data_schema", "repo", "echo", "Dev")
    assert ref.name == "tutorial_db/data_schema/repo/echo"
    assert ref.object_names() == ("TUTORIAL_DB", "DATA_SCHEMA", "REPO")
    assert ref.reference == "Dev" and parse_image("/a/b/c/d").reference == "latest"
    assert ref.url("127.0.0.1:8080") == "127.0.0.1:8080/tutorial_db/data_schema/repo/echo:Dev"
    relative = parse_image("my_repo/img")
    with pytest.raises(ImageRefError):
        relative.object_names()
    assert relative.qualified("DB", "SCH").object_names() == ("DB", "SCH", "MY_REPO")


@pytest.mark.parametrize("text", [
    "", "echo", "/db/sch/echo", "db/sch/repo", "/db/sch/repo/img:", "/db/sch/repo/img:bad tag",
    "/db/sch/repo/img@sha256:abc", "/db//repo/img", "/db/sch/repo/im g", "host:99999999/db/sch/repo/img",
    "<repository_hostname>/db/sch/repo/img:dev", "/db/sch/repo/-img", " /db/sch/repo/img",
])
def test_malformed_image_references(text: str) -> None:
    with pytest.raises(ImageRefError):
        parse_image(text)


def test_merge_keys_in_an_aliased_node_and_duplicates_of_own_keys() -> None:
    text = ("spec:\n  containers:\n  - &base {name: a, image: /db/sch/repo/img}\n"
            "  - &c\n    <<: *base\n    name: b\n  - *c\n")
    assert refused(text).message == message("spec.containers[2].name", "duplicate name 'b'", 6)
    text = "spec:\n  containers:\n  - &c\n    name: a\n    image: /db/sch/repo/img\n  - <<: *c\n    name: a\n    name: b\n"
    assert refused(text).message == message("spec.containers[1].name", "duplicate field", 8)
