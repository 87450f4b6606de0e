"""The Kubernetes manifests in ``deploy/``: valid, and consistent with the bot they run.

``kubernetes-validate`` checks every resource against the Kubernetes schemas (``.ci/run`` runs its
command line too). The rest pins what the schemas cannot know: HTTP mode with two or more
replicas, probes on the bot's own endpoints and port, settings that the bot actually reads, the
Dockerfile's user, and Redis as a service outside the Deployment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app import READINESS_TIMEOUT_SECONDS, SHUTDOWN_DRAIN_SECONDS
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NAME = "collate-handoff-bot"
OLDEST_KUBERNETES = "1.29.0"


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                found.append((path, document))
    return found


def only(kind: str, name: str = NAME) -> dict[str, Any]:
    matches = [
        doc for _, doc in manifests() if doc["kind"] == kind and doc["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def bot_container() -> dict[str, Any]:
    containers = only("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def configured() -> dict[str, str]:
    """What a pod's environment holds: the ConfigMap's data and the Secret's values."""
    secret = only("Secret")
    return {**only("ConfigMap")["data"], **secret.get("stringData", {})}


def kubernetes_validate() -> Any:
    try:
        import kubernetes_validate as validator
    except ImportError:
        if os.environ.get("HANDOFF_BOT_REQUIRE_TOOLS") == "1":
            pytest.fail("kubernetes-validate is required (pip install kubernetes-validate)")
        pytest.skip("kubernetes-validate is not installed")
    return validator


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, "latest"])
def test_every_manifest_passes_strict_schema_validation(version: str) -> None:
    validator = kubernetes_validate()
    wanted = validator.latest_version() if version == "latest" else version
    documents = manifests()
    assert {doc["kind"] for _, doc in documents} >= {
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
    }
    for path, document in documents:
        try:
            validator.validate(document, wanted, strict=True)
        except validator.ValidationError as error:
            pytest.fail(f"{path.name}: {error.message} at {list(error.path)}")


def test_two_or_more_replicas_in_http_mode_that_roll_without_losing_capacity() -> None:
    spec = only("Deployment")["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    settings = configured()
    assert "SLACK_APP_TOKEN" not in settings, "an app-level token would mean Socket Mode"
    assert "SLACK_SIGNING_SECRET" in only("Secret")["stringData"]
    assert bot_container().get("args", ["run"]) == ["run"]
    assert "command" not in bot_container(), "the image's entrypoint is the bot's CLI"


def test_probes_use_the_bots_own_endpoints_on_its_port() -> None:
    container = bot_container()
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": int(configured()["PORT"])}
    readiness = container["readinessProbe"]
    liveness = container["livenessProbe"]
    assert readiness["httpGet"] == {"path": "/readyz", "port": "http"}
    assert liveness["httpGet"] == {"path": "/healthz", "port": "http"}
    assert readiness["timeoutSeconds"] > READINESS_TIMEOUT_SECONDS
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_shutdown_leaves_time_to_drain_clicks_in_flight() -> None:
    pod = only("Deployment")["spec"]["template"]["spec"]
    pre_stop = bot_container()["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + SHUTDOWN_DRAIN_SECONDS


def test_the_service_and_the_disruption_budget_select_the_bots_pods() -> None:
    labels = only("Deployment")["spec"]["template"]["metadata"]["labels"]
    selector = only("Deployment")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    service = only("Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    budget = only("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] < only("Deployment")["spec"]["replicas"]


def test_settings_come_from_the_config_map_and_the_secret_and_the_bot_reads_every_one() -> None:
    env_from = bot_container()["envFrom"]
    assert {"configMapRef": {"name": NAME}} in env_from
    assert {"secretRef": {"name": NAME}} in env_from
    assert "env" not in bot_container()
    settings = configured()
    unknown = sorted(name for name in settings if name.lower() not in Settings.model_fields)
    assert not unknown, f"settings the bot would silently ignore: {unknown}"
    parsed = Settings(**{name.lower(): value for name, value in settings.items()})
    assert not parsed.socket_mode
    secret_names = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "COLLATE_API_KEY", "REDIS_URL"}
    assert set(only("Secret")["stringData"]) == secret_names
    assert not secret_names & set(only("ConfigMap")["data"])
    for name, value in only("Secret")["stringData"].items():
        assert "REPLACE-ME" in value, f"{name} must stay a placeholder in the repository"


def test_redis_is_an_external_service_every_replica_shares() -> None:
    redis = only("Service", "handoff-redis")
    assert redis["spec"]["type"] == "ExternalName"
    url = configured()["REDIS_URL"]
    assert re.match(r"^rediss?://[^@]*@handoff-redis:6379/\d+$", url), url
    kinds = {doc["kind"] for _, doc in manifests()}
    assert "StatefulSet" not in kinds, "Redis is not deployed by these manifests"


def test_the_pod_runs_as_the_images_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert user is not None
    pod = only("Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(user.group(1))
    assert pod["securityContext"]["runAsGroup"] == int(user.group(2))
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    container = bot_container()["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"]["drop"] == ["ALL"]
    assert f"EXPOSE {configured()['PORT']}" in dockerfile
