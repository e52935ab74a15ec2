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
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.scripts import load
from tests.unit.conftest import SHIPPED_POLICY

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
GATEWAY_PORT = 6070
# The gateway's secrets (CONTRACT §7): each enables its route; unset, the route answers 404.
GATEWAY_SECRETS = {
    "SUPPORTPULSE_CHATWOOT_SECRET",
    "SUPPORTPULSE_ZENDESK_SECRET",
    "SUPPORTPULSE_ZAMMAD_SECRET",
    "SUPPORTPULSE_EVENTS_TOKEN",
}
# Prometheus job names the alert rules match: up{job="supportpulse"} counts workers only.
WORKER_JOB = "supportpulse"
GATEWAY_JOB = "supportpulse-gateway"


build_prometheusrule = load("deploy/k8s/build_prometheusrule.py")


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


def _gateway_config() -> dict[str, str]:
    return _by_name("ConfigMap", "supportpulse-gateway-config")["data"]


def _pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def _gateway_container() -> dict[str, Any]:
    (container,) = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


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
            "ConfigMap",
            "Secret",
            "StatefulSet",
            "Deployment",
            "Service",
            "Service",
            "Service",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "PodDisruptionBudget",
            "ServiceMonitor",
            "ServiceMonitor",
            "PrometheusRule",
            "ScaledObject",
        ]
    )


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_core_objects_validate_against_the_kubernetes_schema(version: str) -> None:
    core = [o for o in _objects() if (o["apiVersion"], o["kind"]) not in CRD_KINDS]
    assert len(core) == 13
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
    pod_labels = _pod_labels(sts)
    gateway_pods = _pod_labels(_one("Deployment"))
    assert _matches(sts["spec"]["selector"]["matchLabels"], pod_labels)
    services = {s["metadata"]["name"]: s for s in _objects() if s["kind"] == "Service"}
    worker_services = {n: s for n, s in services.items() if n.startswith("supportpulse-worker")}
    assert set(worker_services) == {"supportpulse-worker-headless", "supportpulse-worker-metrics"}
    for name, service in worker_services.items():
        assert _matches(service["spec"]["selector"], pod_labels), name
        assert not _matches(service["spec"]["selector"], gateway_pods), name
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    pdb = _by_name("PodDisruptionBudget", "supportpulse-worker")
    assert _matches(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert not _matches(pdb["spec"]["selector"]["matchLabels"], gateway_pods)
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
    shipped = SHIPPED_POLICY.read_bytes()
    assert (BASE / "sla-policy.yml").read_bytes() == shipped


def test_config_and_secret() -> None:
    config = _config()
    assert int(config["SUPPORTPULSE_TABLE_STANDBY_REPLICAS"]) >= 1
    assert config["SUPPORTPULSE_WEB_HOST"] == "0.0.0.0"
    for key in ("KAFKA_BOOTSTRAP", "APP_ID", "DATA_DIR", "QUEUES", "TIMEZONE", "PARTITIONS"):
        assert config[f"SUPPORTPULSE_{key}"], key
    secret = _by_name("Secret", "supportpulse-secrets")
    assert set(secret["stringData"]) == {
        "SUPPORTPULSE_API_TOKEN",
        "SUPPORTPULSE_REDIS_URL",
        *GATEWAY_SECRETS,
    }
    assert not set(secret["stringData"]) & set(config)
    assert not set(secret["stringData"]) & set(_gateway_config())


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
    used |= set(_gateway_config())
    used |= {item["name"] for item in _gateway_container().get("env", [])}
    compose = _compose()
    for service in compose["services"].values():
        if "build" in service:  # the Support Pulse image (workers, gateway, simulator)
            used |= {k for k in _environment(service) if k.startswith("SUPPORTPULSE_")}
    assert used - known == set()


def test_service_monitor_scrapes_the_metrics_service() -> None:
    monitor = _by_name("ServiceMonitor", "supportpulse-worker")
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
    assert service["metadata"]["labels"][spec["jobLabel"]] == WORKER_JOB
    assert _matches(service["spec"]["selector"], _pod_labels(_one("StatefulSet")))
    port_names = {p["name"] for p in service["spec"]["ports"]}
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] in port_names
    assert endpoint["path"] == "/metrics"
    credentials = endpoint["authorization"]["credentials"]
    secret = _by_name("Secret", credentials["name"])
    assert credentials["key"] in secret["stringData"]


def test_gateway_deployment() -> None:
    deployment = _one("Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    sts_pod = _one("StatefulSet")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == sts_pod["securityContext"]["runAsUser"]
    container = _gateway_container()
    (worker,) = sts_pod["containers"]
    assert container["image"] == worker["image"]  # one image, rewritten by kustomize `images`
    assert container["args"] == ["gateway"]
    assert container["securityContext"] == worker["securityContext"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    config = _gateway_config()
    assert port == GATEWAY_PORT == int(config["SUPPORTPULSE_GATEWAY_PORT"])
    assert config["SUPPORTPULSE_GATEWAY_HOST"] == "0.0.0.0"
    assert config["SUPPORTPULSE_KAFKA_BOOTSTRAP"] == _config()["SUPPORTPULSE_KAFKA_BOOTSTRAP"]
    # Probes: /readyz (the broker answered) for readiness, /healthz (alive) for liveness.
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    assert container["resources"]["requests"]["cpu"]  # the HPA's utilization needs it
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and "/tmp" in mounts


def test_gateway_settings_and_secrets() -> None:
    container = _gateway_container()
    # Settings from the gateway's own ConfigMap only: not the workers' (whose SLA policy path is
    # not mounted here), and no Secret wholesale (the gateway never talks to Redis).
    assert container["envFrom"] == [{"configMapRef": {"name": "supportpulse-gateway-config"}}]
    config = _gateway_config()
    assert not {k for k in config if "REDIS" in k or "SECRET" in k or "TOKEN" in k}
    assert not GATEWAY_SECRETS & (set(config) | set(_config()))
    # The four secrets, each from the shared Secret, optional (a deleted key: route off, 404).
    secret = _by_name("Secret", "supportpulse-secrets")
    refs = {}
    for item in container["env"]:
        assert "value" not in item, f"{item['name']} is hard-coded"
        ref = item["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
        assert ref.get("optional") is True
        refs[item["name"]] = ref["key"]
    assert refs == {name: name for name in GATEWAY_SECRETS}


def test_gateway_service_hpa_and_pdb_select_the_gateway() -> None:
    deployment = _one("Deployment")
    pods = _pod_labels(deployment)
    worker_pods = _pod_labels(_one("StatefulSet"))
    assert _matches(deployment["spec"]["selector"]["matchLabels"], pods)
    assert not _matches(deployment["spec"]["selector"]["matchLabels"], worker_pods)
    service = _by_name("Service", "supportpulse-gateway")
    assert _matches(service["spec"]["selector"], pods)
    assert not _matches(service["spec"]["selector"], worker_pods)
    (port,) = service["spec"]["ports"]
    assert port["port"] == GATEWAY_PORT
    assert port["targetPort"] in {p["name"] for p in _gateway_container()["ports"]}
    # Only the gateway Services select gateway pods (requests; metrics, also when not ready).
    for other in _objects():
        if other["kind"] == "Service" and not other["metadata"]["name"].startswith(
            "supportpulse-gateway"
        ):
            assert not _matches(other["spec"]["selector"], pods), other["metadata"]["name"]
    hpa = _one("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert 2 <= spec["minReplicas"] <= deployment["spec"]["replicas"] <= spec["maxReplicas"]
    (metric,) = spec["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    pdb = _by_name("PodDisruptionBudget", "supportpulse-gateway")
    assert _matches(pdb["spec"]["selector"]["matchLabels"], pods)
    assert not _matches(pdb["spec"]["selector"]["matchLabels"], worker_pods)
    assert pdb["spec"]["maxUnavailable"] == 1 < spec["minReplicas"]


def test_gateway_service_monitor_sets_the_gateway_job() -> None:
    monitor = _by_name("ServiceMonitor", "supportpulse-gateway")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    spec = monitor["spec"]
    scraped = [
        s
        for s in _objects()
        if s["kind"] == "Service"
        and _matches(spec["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert [s["metadata"]["name"] for s in scraped] == ["supportpulse-gateway-metrics"]
    (service,) = scraped
    # Unready gateways (broker unreachable) are scraped too: that is what they report.
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert _matches(service["spec"]["selector"], _pod_labels(_one("Deployment")))
    # jobLabel, as for the workers: the gateway alerts match up{job="supportpulse-gateway"}.
    assert service["metadata"]["labels"][spec["jobLabel"]] == GATEWAY_JOB
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # No ServiceMonitor gives a gateway Service the workers' job (or the other way round).
    for other in _objects():
        if other["kind"] != "ServiceMonitor":
            continue
        for s in _objects():
            if s["kind"] == "Service" and _matches(
                other["spec"]["selector"]["matchLabels"], s["metadata"]["labels"]
            ):
                job = s["metadata"]["labels"][other["spec"]["jobLabel"]]
                gateway = _matches(s["spec"]["selector"], _pod_labels(_one("Deployment")))
                assert job == (GATEWAY_JOB if gateway else WORKER_JOB), s["metadata"]["name"]


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
        "gateway": {str(GATEWAY_PORT)},
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
    worker_targets = endpoints(jobs[WORKER_JOB])
    assert worker_targets == {f"{name}:{WEB_PORT}" for name in _workers(compose)}
    # The gateway job (named in the gateway alerts) scrapes exactly the compose gateway.
    assert endpoints(jobs[GATEWAY_JOB]) == {f"gateway:{GATEWAY_PORT}"}
    # Alerts go to the compose Alertmanager.
    alertmanagers: set[str] = set()
    for am in config["alerting"]["alertmanagers"]:
        alertmanagers |= {t for sc in am.get("static_configs", []) for t in sc["targets"]}
        alertmanagers |= _file_sd_targets(files, config_dir, am.get("file_sd_configs", []))
    assert alertmanagers == {"alertmanager:9093"}


def test_compose_gateway() -> None:
    compose = _compose()
    services = compose["services"]
    gateway = services["gateway"]
    (worker, *_) = _workers(compose).values()
    assert gateway["command"] == ["gateway"]
    assert gateway["image"] == worker["image"] and gateway["build"] == worker["build"]
    assert gateway["ports"] == [f"127.0.0.1:{GATEWAY_PORT}:{GATEWAY_PORT}"]
    assert _container_port(gateway, str(GATEWAY_PORT)) == str(GATEWAY_PORT)
    env = gateway["environment"]
    assert env["SUPPORTPULSE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["SUPPORTPULSE_GATEWAY_HOST"] == "0.0.0.0"
    assert str(env.get("SUPPORTPULSE_GATEWAY_PORT", GATEWAY_PORT)) == str(GATEWAY_PORT)
    assert not any("REDIS" in name for name in env), "the gateway never talks to Redis"
    # Secrets pass through from the host by name only: unset there, unset in the container (the
    # route answers 404). `${NAME:-}` would hand the gateway an empty string, which enables the
    # route with an empty signing key.
    for name in GATEWAY_SECRETS:
        assert name in env, name
        assert env[name] is None, f"{name} must be passed through from the host, not set"
    check = json.dumps(gateway["healthcheck"]["test"])
    assert "/healthz" in check and f":{GATEWAY_PORT}" in check
    assert gateway["depends_on"] == {"kafka-init": {"condition": "service_completed_successfully"}}
    assert gateway["restart"] == "unless-stopped"
    assert gateway["stop_grace_period"]
    assert not gateway.get("volumes"), "the gateway is stateless"


def _sd_targets(paths: set[Path]) -> set[str]:
    return {t for path in paths for group in json.loads(path.read_text()) for t in group["targets"]}


def test_prometheus_gateway_job_reads_its_own_targets() -> None:
    prom_dir = ROOT / "deploy" / "prometheus"
    config = yaml.safe_load((prom_dir / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    def target_files(job: dict[str, Any]) -> tuple[set[str], set[Path]]:
        patterns = {f for sd in job["file_sd_configs"] for f in sd["files"]}
        return patterns, {p for pattern in patterns for p in prom_dir.glob(pattern)}

    worker_patterns, worker_files = target_files(jobs[WORKER_JOB])
    gateway_patterns, gateway_files = target_files(jobs[GATEWAY_JOB])
    assert jobs[GATEWAY_JOB].get("metrics_path", "/metrics") == "/metrics"
    assert not jobs[GATEWAY_JOB].get("static_configs")
    assert gateway_files and worker_files and not gateway_files & worker_files
    # Different directories, so a worker target list never feeds the gateway job (and back).
    worker_dirs = {str(PurePosixPath(p).parent) for p in worker_patterns}
    gateway_dirs = {str(PurePosixPath(p).parent) for p in gateway_patterns}
    assert not worker_dirs & gateway_dirs, (worker_dirs, gateway_dirs)
    assert _sd_targets(gateway_files) == {f"127.0.0.1:{GATEWAY_PORT}"}
    assert all(t.endswith(f":{WEB_PORT}") for t in _sd_targets(worker_files))
    # Compose replaces each committed target file with a config of the same path (the worker
    # lists and the gateway list alike), pointing at the compose services.
    compose_files = _prometheus_files()
    for files, expected in ((worker_files, f":{WEB_PORT}"), (gateway_files, f":{GATEWAY_PORT}")):
        for path in files:
            mapped = f"/etc/prometheus/{path.relative_to(prom_dir).as_posix()}"
            assert mapped in compose_files, mapped
            targets = {t for g in json.loads(compose_files[mapped]) for t in g["targets"]}
            assert targets and all(t.endswith(expected) for t in targets), targets
            assert not any(t.startswith("127.0.0.1:") for t in targets), targets


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
