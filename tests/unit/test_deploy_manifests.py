"""Deployment manifests stay valid and consistent with each other and with the repository.

* deploy/k8s/base: every core object validates against the Kubernetes OpenAPI schema shipped
  in kubernetes-validate (strict: unknown fields fail). kubernetes-validate has no schemas for
  custom resources, so ServiceMonitor, PrometheusRule and ScaledObject are checked
  structurally (apiVersion, kind, required fields, references to the other objects).
* The PrometheusRule is generated from deploy/prometheus/rules/*.yml and must be up to date.
* docker-compose.yml: pinned images, mounted paths exist, health checks, unique host ports,
  dependency conditions, and Prometheus' scrape targets match the compose services.

No network, no Docker, no cluster: a few seconds.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import sys
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s" / "base"
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
COMPOSE_FILE = ROOT / "docker-compose.yml"

# Oldest and newest Kubernetes minor versions the base is meant for.
K8S_VERSIONS = ("1.30", "1.33")
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}
INPUT_TOPICS = {"support.tickets", "support.chats", "support.agents", "support.commerce"}
WEB_PORT = 6066


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


build_prometheusrule = _load_module(
    "supportpulse_build_prometheusrule", ROOT / "deploy" / "k8s" / "build_prometheusrule.py"
)


# --------------------------------------------------------------------------------------------
# Kubernetes base
# --------------------------------------------------------------------------------------------


def _kustomization() -> dict[str, Any]:
    return yaml.safe_load((BASE / "kustomization.yaml").read_text(encoding="utf-8"))


def _objects() -> list[dict[str, Any]]:
    """What `kustomize build` would emit, minus name hashes, labels and image rewrites."""
    kustomization = _kustomization()
    objects: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        text = (BASE / resource).read_text(encoding="utf-8")
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    for generator in kustomization.get("configMapGenerator", []):
        data = {
            Path(f).name: (BASE / f).read_text(encoding="utf-8") for f in generator.get("files", [])
        }
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    return objects


def _one(kind: str) -> dict[str, Any]:
    found = [o for o in _objects() if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def _by_name(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in _objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}"
    return found[0]


def _config() -> dict[str, str]:
    return _by_name("ConfigMap", "supportpulse-config")["data"]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_kustomization_resources_exist() -> None:
    kustomization = _kustomization()
    assert kustomization["kind"] == "Kustomization"
    for resource in kustomization["resources"]:
        assert (BASE / resource).is_file(), resource
    for generator in kustomization.get("configMapGenerator", []):
        for f in generator.get("files", []):
            assert (BASE / f).is_file(), f
    kinds = sorted(o["kind"] for o in _objects())
    assert kinds == sorted(
        [
            "ConfigMap",
            "ConfigMap",
            "Secret",
            "StatefulSet",
            "Service",
            "Service",
            "PodDisruptionBudget",
            "ServiceMonitor",
            "PrometheusRule",
            "ScaledObject",
        ]
    )


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_core_objects_validate_against_the_kubernetes_schema(version: str) -> None:
    core = [o for o in _objects() if (o["apiVersion"], o["kind"]) not in CRD_KINDS]
    assert len(core) == 7
    for obj in core:
        kubernetes_validate.validate(obj, version, strict=True)


def test_schema_validation_catches_mistakes() -> None:
    broken = json.loads(json.dumps(_one("StatefulSet")))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[-1], strict=True)


def test_names_and_label_selectors_line_up() -> None:
    for obj in _objects():
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", obj["metadata"]["name"])
    sts = _one("StatefulSet")
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert _matches(sts["spec"]["selector"]["matchLabels"], pod_labels)
    services = {s["metadata"]["name"]: s for s in _objects() if s["kind"] == "Service"}
    for service in services.values():
        assert _matches(service["spec"]["selector"], pod_labels), service["metadata"]["name"]
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    pdb = _one("PodDisruptionBudget")
    assert _matches(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert pdb["spec"]["maxUnavailable"] == 1


def test_statefulset_worker() -> None:
    sts = _one("StatefulSet")
    spec = sts["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    anti = pod["affinity"]["podAntiAffinity"]
    terms = anti.get("preferredDuringSchedulingIgnoredDuringExecution", []) + anti.get(
        "requiredDuringSchedulingIgnoredDuringExecution", []
    )
    assert terms
    (container,) = pod["containers"]
    assert container["args"] == ["worker"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert port == WEB_PORT == int(_config()["SUPPORTPULSE_WEB_PORT"])
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    readiness = container["readinessProbe"]
    assert "/readyz" in json.dumps(readiness)
    assert "SUPPORTPULSE_API_TOKEN" in json.dumps(readiness)  # /readyz is behind the token
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    sources = {
        (kind, ref["name"])
        for item in container["envFrom"]
        for kind, ref in item.items()
        if kind in {"configMapRef", "secretRef"}
    }
    assert sources == {
        ("configMapRef", "supportpulse-config"),
        ("secretRef", "supportpulse-secrets"),
    }
    # The table store directory is on the per-pod volume claim.
    (claim,) = spec["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == _config()["SUPPORTPULSE_DATA_DIR"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    # The SLA policy file comes from the generated ConfigMap.
    volumes = {v["name"]: v for v in pod["volumes"]}
    policy = Path(_config()["SUPPORTPULSE_SLA_POLICY_FILE"])
    mounted = [n for n, path in mounts.items() if path == str(policy.parent)]
    assert len(mounted) == 1
    cm_name = volumes[mounted[0]]["configMap"]["name"]
    assert policy.name in _by_name("ConfigMap", cm_name)["data"]


def test_the_k8s_sla_policy_is_the_shipped_one() -> None:
    # kustomize cannot read outside its folder, so the base keeps a copy; a drifted copy once gave
    # converted chats the 2-minute chat target on k8s only.
    shipped = (ROOT / "stream" / "data" / "sla-policy.yaml").read_bytes()
    assert (BASE / "sla-policy.yml").read_bytes() == shipped


def test_config_and_secret() -> None:
    config = _config()
    assert int(config["SUPPORTPULSE_TABLE_STANDBY_REPLICAS"]) >= 1
    assert config["SUPPORTPULSE_WEB_HOST"] == "0.0.0.0"
    for key in ("KAFKA_BOOTSTRAP", "APP_ID", "DATA_DIR", "QUEUES", "TIMEZONE", "PARTITIONS"):
        assert config[f"SUPPORTPULSE_{key}"], key
    secret = _by_name("Secret", "supportpulse-secrets")
    assert set(secret["stringData"]) == {"SUPPORTPULSE_API_TOKEN", "SUPPORTPULSE_REDIS_URL"}
    assert not set(secret["stringData"]) & set(config)


def _settings_env_names() -> set[str] | None:
    try:
        from stream.settings import Settings
    except Exception:  # the settings module is not importable yet
        return None
    return {f"SUPPORTPULSE_{name.upper()}" for name in Settings.model_fields}


def test_every_supportpulse_variable_is_a_setting() -> None:
    """Settings ignore unknown variables, so a typo here would silently do nothing."""
    known = _settings_env_names()
    if known is None:
        pytest.skip("stream.settings not importable")
    used = set(_config()) | set(_by_name("Secret", "supportpulse-secrets")["stringData"])
    compose = _compose()
    for service in compose["services"].values():
        if "build" in service:  # the Support Pulse image (workers, simulator)
            used |= {k for k in _environment(service) if k.startswith("SUPPORTPULSE_")}
    assert used - known == set()


def test_service_monitor_scrapes_the_metrics_service() -> None:
    monitor = _one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    spec = monitor["spec"]
    services = [
        s
        for s in _objects()
        if s["kind"] == "Service"
        and _matches(spec["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert len(services) == 1, "exactly one Service scraped (no double scrape via headless)"
    (service,) = services
    # The alert rules match up{job="supportpulse"}: jobLabel names the Service label giving it.
    assert service["metadata"]["labels"][spec["jobLabel"]] == "supportpulse"
    port_names = {p["name"] for p in service["spec"]["ports"]}
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] in port_names
    assert endpoint["path"] == "/metrics"
    credentials = endpoint["authorization"]["credentials"]
    secret = _by_name("Secret", credentials["name"])
    assert credentials["key"] in secret["stringData"]


def test_scaled_object_scales_on_consumer_lag() -> None:
    scaled = _one("ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    sts = _one("StatefulSet")
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": sts["metadata"]["name"],
    }
    partitions = int(_config()["SUPPORTPULSE_PARTITIONS"])
    assert 1 <= spec["minReplicaCount"] <= sts["spec"]["replicas"]
    assert spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
    topics = set()
    for trigger in spec["triggers"]:
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["bootstrapServers"] == _config()["SUPPORTPULSE_KAFKA_BOOTSTRAP"]
        assert meta["consumerGroup"] == _config()["SUPPORTPULSE_APP_ID"]
        assert meta["allowIdleConsumers"] == "false"
        assert int(meta["lagThreshold"]) > 0
        assert all(isinstance(v, str) for v in meta.values()), "KEDA metadata values are strings"
        topics.add(meta["topic"])
    assert topics == INPUT_TOPICS


def test_prometheus_rule_structure() -> None:
    rule = _one("PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["name"]
    for group in rule["spec"]["groups"]:
        assert group["name"] and isinstance(group["rules"], list)
        for r in group["rules"]:
            assert ("record" in r) != ("alert" in r), r
            assert r["expr"]


def test_prometheus_rule_is_up_to_date() -> None:
    committed = (BASE / "prometheusrule.yaml").read_text(encoding="utf-8")
    assert committed == build_prometheusrule.render(RULES_DIR), (
        "run: python deploy/k8s/build_prometheusrule.py --write"
    )


def test_prometheus_rule_contains_every_rule_group() -> None:
    rule_groups = [
        group
        for path in sorted([*RULES_DIR.glob("*.yml"), *RULES_DIR.glob("*.yaml")])
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", [])
    ]
    names = [g["name"] for g in rule_groups]
    assert len(names) == len(set(names)), "rule group names must be unique across files"
    groups = {g["name"]: g for g in _one("PrometheusRule")["spec"]["groups"]}
    assert set(groups) == set(names)
    for group in rule_groups:
        assert groups[group["name"]] == group


def test_prometheus_rule_builder_handles_missing_rules(tmp_path: Path) -> None:
    assert build_prometheusrule.build(tmp_path / "absent")["spec"]["groups"] == []
    (tmp_path / "a.yml").write_text(
        "groups:\n- name: a\n  rules:\n  - record: x\n    expr: |\n      up\n"
    )
    (tmp_path / "test.yml").write_text("rule_files: [a.yml]\ntests: []\n")
    text = build_prometheusrule.render(tmp_path)
    assert yaml.safe_load(text)["spec"]["groups"] == [
        {"name": "a", "rules": [{"record": "x", "expr": "up\n"}]}
    ]
    assert "expr: |" in text


# --------------------------------------------------------------------------------------------
# docker compose
# --------------------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _workers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in compose["services"].items()
        if (s.get("command") or [None])[0] == "worker"
    }


def _container_port(service: dict[str, Any], published: str) -> str:
    for mapping in service.get("ports", []):
        parts = str(mapping).split(":")
        if parts[-2] == published:
            return parts[-1].split("/")[0]
    raise AssertionError(published)


def test_compose_images_pinned_or_built() -> None:
    for name, service in _compose()["services"].items():
        image = service.get("image")
        if "build" in service:
            assert (ROOT / service["build"].get("context", ".") / "Dockerfile").is_file()
            continue
        assert image, f"{name}: image or build"
        repo, sep, tag = image.rpartition(":")
        assert sep and repo and tag and tag != "latest" and "/" not in tag, f"{name}: {image}"
        assert re.search(r"\d", tag), f"{name}: {image} is not a version"
    services = _compose()["services"]
    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", services["kafka"]["image"])
    assert re.fullmatch(r"redis:7\.\d+\.\d+.*", services["redis"]["image"])
    assert re.fullmatch(r"prom/prometheus:v2\.\d+\.\d+", services["prometheus"]["image"])
    assert re.fullmatch(r"prom/alertmanager:v\d+\.\d+\.\d+", services["alertmanager"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", services["grafana"]["image"])


def test_compose_workers_run_the_shipped_policy() -> None:
    # The image is the installed wheel: only the shipped policy (or a file mounted into the
    # container) exists there; a checkout path would fail the worker's start.
    workers = _workers(_compose())
    assert workers
    for name, service in workers.items():
        policy = _environment(service).get("SUPPORTPULSE_SLA_POLICY_FILE", "shipped")
        assert policy == "shipped", f"{name}: {policy}"


def test_compose_kafka_runs_in_kraft_mode() -> None:
    env = _environment(_compose()["services"]["kafka"])
    assert "controller" in env["KAFKA_PROCESS_ROLES"]
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env


def test_compose_mounted_paths_exist() -> None:
    compose = _compose()
    named = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in named, f"{name}: undeclared volume {source}"
        for config in service.get("configs", []):
            assert config["source"] in compose["configs"], f"{name}: {config['source']}"


def test_compose_health_checks_and_dependencies() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: healthcheck"
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} -> {dependency}"
            assert condition["condition"] in {
                "service_healthy",
                "service_completed_successfully",
                "service_started",
            }
            if condition["condition"] == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", dependency
            # Profiled services are optional: nothing that always runs may wait for them.
            if "profiles" in services[dependency]:
                assert "profiles" in service, f"{name} depends on optional {dependency}"


def test_compose_published_ports_are_unique() -> None:
    published = [
        str(mapping).split(":")[-2]
        for service in _compose()["services"].values()
        for mapping in service.get("ports", [])
    ]
    assert len(published) == len(set(published)), published


def test_compose_workers() -> None:
    compose = _compose()
    workers = _workers(compose)
    assert len(workers) == 2
    data_volumes = []
    for name, worker in workers.items():
        env = _environment(worker)
        assert env["SUPPORTPULSE_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["SUPPORTPULSE_REDIS_URL"] == "redis://redis:6379/0"
        assert env["SUPPORTPULSE_WEB_PORT"] == str(WEB_PORT)
        assert "/healthz" in json.dumps(worker["healthcheck"]["test"])
        assert f":{WEB_PORT}" in json.dumps(worker["healthcheck"]["test"])
        mounts = [v for v in worker["volumes"] if v.split(":")[1] == env["SUPPORTPULSE_DATA_DIR"]]
        assert len(mounts) == 1, name
        data_volumes.append(mounts[0].split(":")[0])
        assert _container_port(worker, _published(worker)) == str(WEB_PORT)
    assert len(set(data_volumes)) == len(data_volumes), "each worker needs its own table store"
    # The topics exist before the workers start, with the partitions the workers expect.
    init = " ".join(compose["services"]["kafka-init"]["command"])
    partitions = {_environment(w)["SUPPORTPULSE_PARTITIONS"] for w in workers.values()}
    assert len(partitions) == 1 and f"--partitions {partitions.pop()}" in init
    for topic in INPUT_TOPICS | {"support.sla", "support.staffing", "support.dlq"}:
        assert topic in init, topic
    for worker in workers.values():
        assert worker["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    simulator = compose["services"]["simulator"]
    assert simulator["profiles"] == ["simulate"]
    assert simulator["command"][:3] == ["simulate", "--profile", "${SIM_PROFILE:-black-friday}"]


def _published(service: dict[str, Any]) -> str:
    return str(service["ports"][0]).split(":")[-2]


def _prometheus_files() -> dict[str, str]:
    """Container path under Prometheus' config dir → file content, as compose assembles it."""
    compose = _compose()
    service = compose["services"]["prometheus"]
    files: dict[str, str] = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if not source.startswith("."):
            continue
        host = ROOT / source
        if host.is_file():
            files[target] = host.read_text(encoding="utf-8")
        elif host.is_dir():
            for path in host.rglob("*"):
                if path.is_file():
                    rel = path.relative_to(host).as_posix()
                    files[f"{target}/{rel}"] = path.read_text(encoding="utf-8")
    for config in service.get("configs", []):
        files[config["target"]] = compose["configs"][config["source"]]["content"]
    return files


def _file_sd_targets(files: dict[str, str], config_dir: str, sd_configs: list[Any]) -> set[str]:
    targets: set[str] = set()
    for sd in sd_configs:
        for pattern in sd["files"]:
            full = str(PurePosixPath(config_dir) / pattern)
            matched = [p for p in files if fnmatch.fnmatch(p, full)]
            assert matched, f"no file for {full}"
            for path in matched:
                for group in json.loads(files[path]):
                    targets.update(group["targets"])
    return targets


def test_compose_prometheus_scrapes_the_compose_services() -> None:
    if not (ROOT / "deploy/prometheus/prometheus.yml").is_file():
        pytest.skip("deploy/prometheus/prometheus.yml not written yet")
    compose = _compose()
    services = compose["services"]
    files = _prometheus_files()
    config_file = next(
        arg.split("=", 1)[1]
        for arg in services["prometheus"]["command"]
        if arg.startswith("--config.file=")
    )
    config = yaml.safe_load(files[config_file])
    config_dir = str(PurePosixPath(config_file).parent)
    # Every rule file Prometheus loads is in the container.
    for pattern in config.get("rule_files", []):
        full = str(PurePosixPath(config_dir) / pattern)
        assert any(fnmatch.fnmatch(p, full) for p in files), f"missing rule file {full}"

    def endpoints(job: dict[str, Any]) -> set[str]:
        found = {t for sc in job.get("static_configs", []) for t in sc["targets"]}
        return found | _file_sd_targets(files, config_dir, job.get("file_sd_configs", []))

    # Each target must be a compose service on a port it listens on (or Prometheus itself).
    listening = {
        "prometheus": {"9090"},
        "alertmanager": {"9093"},
        **{name: {str(WEB_PORT)} for name in _workers(compose)},
    }
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for job_name, job in jobs.items():
        for target in endpoints(job):
            host, _, port = target.rpartition(":")
            if host in {"127.0.0.1", "localhost"}:
                assert job_name == "prometheus" and port == "9090", f"{job_name}: {target}"
            else:
                assert port in listening.get(host, set()), f"{job_name}: {target}"
    # The workers job (named in the alert rules) scrapes exactly the compose workers.
    worker_targets = endpoints(jobs["supportpulse"])
    assert worker_targets == {f"{name}:{WEB_PORT}" for name in _workers(compose)}
    # Alerts go to the compose Alertmanager.
    alertmanagers: set[str] = set()
    for am in config["alerting"]["alertmanagers"]:
        alertmanagers |= {t for sc in am.get("static_configs", []) for t in sc["targets"]}
        alertmanagers |= _file_sd_targets(files, config_dir, am.get("file_sd_configs", []))
    assert alertmanagers == {"alertmanager:9093"}


def _in_container(service: dict[str, Any], path: str) -> Path | None:
    """The repository path behind a container path of a bind-mounted service, if any."""
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith(".") and (path == target or path.startswith(target + "/")):
            return ROOT / source / path[len(target) :].lstrip("/")
    return None


def test_compose_grafana_and_alertmanager_mounts() -> None:
    services = _compose()["services"]
    grafana_sources = {v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert {"./grafana/provisioning", "./grafana/dashboards"} <= grafana_sources
    home = _environment(services["grafana"])["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    home_file = _in_container(services["grafana"], home)
    assert home_file is not None and home_file.is_file(), home
    # Alertmanager renders its config from SUPPORTPULSE_AM_* with deploy/alertmanager/render.sh.
    am = services["alertmanager"]
    script = " ".join(am["command"])
    render = re.search(r"sh (\S+/render\.sh) (\S+)", script)
    assert render, script
    host_script = _in_container(am, render.group(1))
    assert host_script is not None and host_script.is_file()
    assert f"--config.file={render.group(2)}" in script
    template_glob = _environment(am)["SUPPORTPULSE_AM_TEMPLATE_GLOB"]
    host_templates = _in_container(am, str(PurePosixPath(template_glob).parent))
    assert host_templates is not None
    assert list(host_templates.glob(PurePosixPath(template_glob).name))
    for name, value in _environment(am).items():
        assert name.startswith("SUPPORTPULSE_AM_"), name
        if name != "SUPPORTPULSE_AM_TEMPLATE_GLOB":
            assert value.startswith(f"${{{name}:-"), f"{name} is passed through from the host"


# --------------------------------------------------------------------------------------------
# Image
# --------------------------------------------------------------------------------------------


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["supportpulse"\]', text, re.M)
    assert "/healthz" in text
    # The image runs what a wheel ships, not the source tree, and checks the shipped policy.
    assert re.search(r"pip wheel .*--wheel-dir /wheels \.", text)
    assert re.search(r"pip install --no-deps /wheels/supportpulse-\*\.whl", text)
    assert not re.search(r"pip install --no-deps \.\s", text)
    assert "supportpulse check-config" in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in ignored and "!stream/" in ignored
    # Every file the Dockerfile copies from the context is let through .dockerignore.
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for item in source.split():
            assert f"!{item}" in ignored or f"!{item}/" in ignored, item
