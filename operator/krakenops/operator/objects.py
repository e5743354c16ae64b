"""The Kubernetes objects an environment owns, built as plain manifests from its typed config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import yaml

from krakenops.core.config import EnvironmentConfig, Mode, ResourceSettings
from krakenops.operator.constants import (
    API_VERSION,
    CONFIG_FILE,
    CONFIG_KEY,
    CONFIG_MOUNT,
    CREDENTIALS_MOUNT,
    LABEL_COMPONENT,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_PROMOTION,
    LABEL_WINDOW,
    MANAGER,
    TRADING_ENVIRONMENT_KIND,
    Component,
)

__all__ = [
    "CONFIG_HASH_ANNOTATION",
    "TEMPLATE_HASH_ANNOTATION",
    "Owner",
    "config_map",
    "config_map_name",
    "dns_name",
    "environment_manifest",
    "labels",
    "template_digest",
    "trader_deployment",
    "trader_name",
    "trainer_job",
    "trainer_job_name",
    "validation_job",
    "validation_job_name",
]

Manifest = dict[str, Any]
CONFIG_HASH_ANNOTATION = "krakenops.io/config-sha256"
# The API server adds defaults to a pod template, so the operator compares its own digest instead.
TEMPLATE_HASH_ANNOTATION = "krakenops.io/template-sha256"
_MAX_NAME = 63
# A non-root uid of no particular meaning; the images create no user of their own.
_UID = 10001


@dataclass(frozen=True)
class Owner:
    """The object that owns what is built here; Kubernetes deletes the owned with it."""

    api_version: str
    kind: str
    name: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def dns_name(*parts: str) -> str:
    """Join parts into a name of at most 63 characters (Jobs put it in a pod label, which is
    limited to 63); a cut name gets a digest suffix so that two long names stay distinct."""
    name = "-".join(parts).lower().replace("_", "-")
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9].rstrip('-')}-{digest}"


def config_map_name(environment: str) -> str:
    return dns_name(environment, "environment")


def trader_name(environment: str) -> str:
    return dns_name(environment, "trader")


def trainer_job_name(environment: str, mode: Mode, window_id: str) -> str:
    """Deterministic per environment and window, so a restarted operator finds the Job it made."""
    return dns_name(environment, "train" if mode is Mode.PAPER else "validate", window_id)


def validation_job_name(promotion: str) -> str:
    return dns_name(promotion, "validate")


def labels(environment: str, component: Component) -> dict[str, str]:
    return {
        LABEL_NAME: "krakenops",
        LABEL_COMPONENT: component.value,
        LABEL_MANAGED_BY: MANAGER,
        LABEL_ENVIRONMENT: environment,
    }


def environment_manifest(config: EnvironmentConfig) -> str:
    """The environment as a TradingEnvironment manifest: the file the pods are started with."""
    document = {
        "apiVersion": API_VERSION,
        "kind": TRADING_ENVIRONMENT_KIND,
        "metadata": {"name": config.name},
        "spec": config.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    return yaml.safe_dump(document, sort_keys=True)


def config_map(config: EnvironmentConfig, namespace: str, owner: Owner) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(
            config_map_name(config.name), namespace, owner, config.name, Component.CONFIG
        ),
        "data": {CONFIG_KEY: environment_manifest(config)},
    }


def trader_deployment(
    config: EnvironmentConfig, namespace: str, owner: Owner, replicas: int, service_account: str
) -> Manifest:
    spec = config.spec
    selector = labels(config.name, Component.TRADER)
    config_hash = hashlib.sha256(environment_manifest(config).encode()).hexdigest()
    container = _container(
        "trader",
        spec.trader.image,
        ["krakenops", "trade", "--config", CONFIG_FILE],
        spec.trader.resources,
        _mounts(config, credentials=spec.mode is Mode.LIVE),
    )
    container["ports"] = [
        {"name": "metrics", "containerPort": spec.trader.metrics_port, "protocol": "TCP"}
    ]
    template = {
        "metadata": {
            "labels": dict(selector),
            # A changed configuration restarts the trader with it.
            "annotations": {CONFIG_HASH_ANNOTATION: config_hash},
        },
        "spec": _pod_spec(config, container, service_account, credentials=spec.mode is Mode.LIVE),
    }
    metadata = _metadata(trader_name(config.name), namespace, owner, config.name, Component.TRADER)
    metadata["annotations"] = {TEMPLATE_HASH_ANNOTATION: template_digest(template)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            # Recreate: two traders on one account would place every order twice.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": dict(selector)},
            "template": template,
        },
    }


def template_digest(template: Manifest) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()


def trainer_job(
    config: EnvironmentConfig,
    namespace: str,
    owner: Owner,
    *,
    window_id: str,
    deadline_seconds: int,
    service_account: str,
) -> Manifest:
    """The downtime Job: paper trains a candidate; live validates its approved model, never trains."""
    if config.spec.mode is Mode.PAPER:
        command = ["krakenops", "train", "--config", CONFIG_FILE]
    else:
        command = ["krakenops", "validate", "--config", CONFIG_FILE, "--approved"]
    name = trainer_job_name(config.name, config.spec.mode, window_id)
    job_labels = labels(config.name, Component.TRAINER) | {LABEL_WINDOW: window_id}
    return _job(
        config,
        namespace,
        owner,
        name=name,
        job_labels=job_labels,
        command=command,
        deadline_seconds=deadline_seconds,
        service_account=service_account,
    )


def validation_job(
    config: EnvironmentConfig,
    namespace: str,
    owner: Owner,
    *,
    model_id: str,
    deadline_seconds: int,
    service_account: str,
) -> Manifest:
    """The Job that validates one candidate for a ModelPromotion and writes its report."""
    command = ["krakenops", "validate", "--config", CONFIG_FILE, "--model-id", model_id]
    job_labels = labels(config.name, Component.VALIDATION) | {LABEL_PROMOTION: owner.name}
    name = validation_job_name(owner.name)
    return _job(
        config,
        namespace,
        owner,
        name=name,
        job_labels=job_labels,
        command=command,
        deadline_seconds=deadline_seconds,
        service_account=service_account,
    )


def _job(
    config: EnvironmentConfig,
    namespace: str,
    owner: Owner,
    *,
    name: str,
    job_labels: dict[str, str],
    command: list[str],
    deadline_seconds: int,
    service_account: str,
) -> Manifest:
    container = _container(
        "trainer",
        config.spec.trainer.image,
        command,
        config.spec.trainer.resources,
        _mounts(config, credentials=False),
    )
    metadata = _metadata(name, namespace, owner, config.name, Component.TRAINER)
    metadata["labels"] = dict(job_labels)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            # No retry: a second attempt would eat the rest of the window; the next window tries anew.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds,
            "template": {
                "metadata": {"labels": dict(job_labels)},
                "spec": _pod_spec(config, container, service_account, credentials=False)
                | {"restartPolicy": "Never"},
            },
        },
    }


def _metadata(
    name: str, namespace: str, owner: Owner, environment: str, component: Component
) -> Manifest:
    return {
        "name": name,
        "namespace": namespace,
        "labels": labels(environment, component),
        "ownerReferences": [owner.reference()],
    }


def _container(
    name: str, image: str, command: list[str], resources: ResourceSettings, mounts: list[Manifest]
) -> Manifest:
    return {
        "name": name,
        "image": image,
        "command": command,
        "resources": {"requests": dict(resources.requests), "limits": dict(resources.limits)},
        "volumeMounts": mounts,
        # The restricted Pod Security Standard, container part.
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        },
    }


def _mounts(config: EnvironmentConfig, *, credentials: bool) -> list[Manifest]:
    mounts: list[Manifest] = [
        {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True},
        {"name": "artifacts", "mountPath": str(config.spec.artifacts.root)},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir, the root filesystem is read-only
    ]
    if credentials:
        mounts.append(
            {"name": "kraken-credentials", "mountPath": CREDENTIALS_MOUNT, "readOnly": True}
        )
    return mounts


def _pod_spec(
    config: EnvironmentConfig, container: Manifest, service_account: str, *, credentials: bool
) -> Manifest:
    volumes: list[Manifest] = [
        {
            "name": "config",
            "configMap": {
                "name": config_map_name(config.name),
                "items": [{"key": CONFIG_KEY, "path": CONFIG_KEY}],
            },
        },
        {
            "name": "artifacts",
            "persistentVolumeClaim": {"claimName": config.spec.artifacts.storage.claim_name},
        },
        {"name": "tmp", "emptyDir": {}},
    ]
    if credentials and config.spec.credentials is not None:
        # Files, not environment variables: they never show in `kubectl describe` or a crash dump.
        volumes.append(
            {
                "name": "kraken-credentials",
                "secret": {
                    "secretName": config.spec.credentials.secret_name,
                    "defaultMode": 0o400,
                    "items": [
                        {"key": "api-key", "path": "api-key"},
                        {"key": "api-secret", "path": "api-secret"},
                    ],
                },
            }
        )
    return {
        "serviceAccountName": service_account,
        # Trading pods never talk to the API server.
        "automountServiceAccountToken": False,
        # The restricted Pod Security Standard, pod part; fsGroup lets the pod write the claim.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": _UID,
            "runAsGroup": _UID,
            "fsGroup": _UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
