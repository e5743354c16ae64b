"""Kopf handlers: each parses its object, calls one function, writes status and posts Events."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

import kopf
from prometheus_client import start_http_server

from krakenops.core.clock import SystemClock
from krakenops.operator.constants import (
    GROUP,
    HANDLER_ENVIRONMENT,
    HANDLER_ENVIRONMENT_TIMER,
    HANDLER_PROMOTION,
    MODEL_PROMOTIONS,
    TRADING_ENVIRONMENTS,
    VERSION,
    Reason,
)
from krakenops.operator.environment_apply import EnvironmentReport, reconcile_environment
from krakenops.operator.events import Notice
from krakenops.operator.kube import Kube, connection_info, new_api_client
from krakenops.operator.metrics import OperatorMetrics, environment_label
from krakenops.operator.promotion_apply import advance_promotion
from krakenops.operator.promotion_plan import PromotionReport, StillValidating, parse_promotion
from krakenops.operator.resources import TradingEnvironment
from krakenops.operator.runtime import ENVIRONMENTS, Runtime, plain
from krakenops.operator.settings import OperatorSettings
from krakenops.operator.specs import PromotionPhase

__all__ = [
    "cleanup",
    "environment_changed",
    "environment_window",
    "environments",
    "liveness",
    "login",
    "promotion",
    "promotion_resumed",
    "startup",
]


@kopf.on.login()
def login(memo: Any, **_: Any) -> kopf.ConnectionInfo:
    """Log in as the operator's own client does: its kubeconfig setting, else in-cluster or
    $KUBECONFIG; Kopf's default login would ignore the setting."""
    options: OperatorSettings = memo.get("settings") or OperatorSettings.from_env()
    return connection_info(options.kubeconfig)


@kopf.on.startup()
async def startup(
    settings: kopf.OperatorSettings, memo: Any, logger: kopf.Logger, **_: Any
) -> None:
    """Own the settings and the clients for this run; tests put settings and a clock on the memo."""
    options: OperatorSettings = memo.get("settings") or OperatorSettings.from_env()
    clock = memo.get("clock") or SystemClock()
    # One replica (the Deployment is Recreate); no peering objects needed.
    settings.peering.standalone = True
    # The Role is namespaced: listing CRDs or namespaces cluster-wide is forbidden, and Kopf
    # would retry it for a minute. The namespace is given, and the CRDs are in crds/.
    settings.scanning.disabled = True
    # Kopf's bookkeeping goes to annotations under our group; status stays ours alone.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    metrics = OperatorMetrics()
    if options.metrics_port:
        server, _thread = start_http_server(options.metrics_port, registry=metrics.registry)
        memo["metrics_server"] = server
    kube = Kube(new_api_client(options.kubeconfig))
    memo["runtime"] = Runtime(settings=options, clock=clock, kube=kube, metrics=metrics)
    logger.info(
        f"serving namespace {options.namespace}; artifact root {options.artifact_root or 'per environment'}"
    )


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    runtime: Runtime | None = memo.get("runtime")
    if runtime is not None:
        runtime.kube.close()
    server = memo.get("metrics_server")
    if server is not None:
        # shutdown() waits for serve_forever's next poll, up to half a second: not on the loop.
        await asyncio.to_thread(server.shutdown)
        server.server_close()


@kopf.on.probe(id="clock")
async def liveness(memo: Any, **_: Any) -> str:
    """The /healthz answer: the operator's clock, which is what every decision reads."""
    runtime: Runtime = memo["runtime"]
    return runtime.clock.now().isoformat()


@kopf.daemon(
    GROUP, VERSION, TRADING_ENVIRONMENTS, id=HANDLER_ENVIRONMENT_TIMER, cancellation_timeout=10
)
async def environment_window(
    stopped: kopf.DaemonStopped, body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any
) -> None:
    """The window timer: reconcile every interval, and right at each window edge."""
    runtime: Runtime = memo["runtime"]
    while not stopped:
        await _reconcile(runtime, body, logger)
        await stopped.wait(_until_next_look(runtime, body))


@kopf.on.update(GROUP, VERSION, TRADING_ENVIRONMENTS, id=HANDLER_ENVIRONMENT, field="spec")
async def environment_changed(body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    """A changed spec (suspend, image, window) is acted on now, not at the next tick."""
    await _reconcile(memo["runtime"], body, logger)


@kopf.index(GROUP, VERSION, TRADING_ENVIRONMENTS)
def environments(
    namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[tuple[str | None, str], Any]:
    """TradingEnvironments in memory: a promotion finds its environment without an API call."""
    return {(namespace, name): plain(body)}


@kopf.on.create(GROUP, VERSION, MODEL_PROMOTIONS, id=HANDLER_PROMOTION)
async def promotion(body: kopf.Body, patch: kopf.Patch, memo: Any, **kwargs: Any) -> None:
    # Kopf passes each index as a keyword named after its function.
    await _promote(memo["runtime"], body, patch, kwargs["environments"])


@kopf.on.resume(GROUP, VERSION, MODEL_PROMOTIONS, id=f"{HANDLER_PROMOTION}-resume")
async def promotion_resumed(body: kopf.Body, patch: kopf.Patch, memo: Any, **kwargs: Any) -> None:
    """After a restart: the same steps; every one of them is safe to repeat."""
    await _promote(memo["runtime"], body, patch, kwargs["environments"])


async def _reconcile(runtime: Runtime, body: kopf.Body, logger: kopf.Logger) -> None:
    metadata = body["metadata"]
    async with runtime.lock(metadata["uid"]):
        snapshot = plain(body)
        report = EnvironmentReport()
        runtime.metrics.reconciles.labels(kind="TradingEnvironment").inc()
        try:
            await reconcile_environment(runtime, TradingEnvironment.parse(snapshot), report, logger)
        except Exception as error:
            runtime.metrics.reconcile_errors.labels(kind="TradingEnvironment").inc()
            report.fail(Reason.RECONCILE_FAILED, error)
            logger.exception("reconcile failed")
        finally:
            _post(body, report.notices)
            status = report.final_status(snapshot, runtime.clock.now())
            await runtime.kube.merge_patch(
                ENVIRONMENTS,
                metadata["namespace"],
                metadata["name"],
                {"status": status.render()},
                subresource="status",
            )


async def _promote(
    runtime: Runtime, body: kopf.Body, patch: kopf.Patch, environments: kopf.Index[Any, Any]
) -> None:
    def find(namespace: str, name: str) -> dict[str, Any] | None:
        found = environments.get((namespace, name))
        return next(iter(found), None) if found else None

    snapshot = plain(body)
    report = PromotionReport()
    runtime.metrics.reconciles.labels(kind="ModelPromotion").inc()
    try:
        promotion = parse_promotion(snapshot, report)
        if promotion is not None:
            await advance_promotion(runtime, promotion, report, find)
    except StillValidating as waiting:
        raise kopf.TemporaryError(str(waiting), delay=runtime.settings.job_poll_seconds) from None
    except Exception as error:
        runtime.metrics.reconcile_errors.labels(kind="ModelPromotion").inc()
        previous = (snapshot.get("status") or {}).get("phase")
        report.fail(error, PromotionPhase(previous) if previous else None)
        raise
    finally:
        _post(body, report.notices)
        if report.environment is not None:
            _post(report.environment, report.environment_notices)
        if report.phase is not None:
            _write_promotion_status(runtime, snapshot, report, patch)


def _write_promotion_status(
    runtime: Runtime, body: Mapping[str, Any], report: PromotionReport, patch: kopf.Patch
) -> None:
    previous = body.get("status") or {}
    assert report.phase is not None
    patch.status.update(report.final_status(body, runtime.clock.now()).render())
    if report.outcome is not None and previous.get("phase") != report.phase.value:
        spec = body.get("spec") or {}
        runtime.metrics.promotions.labels(
            environment=environment_label(str(spec.get("environment"))),
            action=str(spec.get("action")),
            outcome=report.outcome,
        ).inc()


def _post(body: Mapping[str, Any], notices: list[Notice]) -> None:
    for notice in notices:
        kind = "Warning" if notice.warning else "Normal"
        kopf.event(
            kopf.Body(cast(kopf.RawBody, dict(body))),
            type=kind,
            reason=notice.reason.value,
            message=notice.message,
        )


def _until_next_look(runtime: Runtime, body: Mapping[str, Any]) -> float:
    """The reconcile interval, or less when the window changes sooner (by the operator's clock)."""
    interval = runtime.settings.reconcile_interval_seconds
    try:
        window = runtime.environment(body).spec.downtime.window()
    except Exception:
        return interval
    now = runtime.clock.now()
    edge = (window.status(now).next_transition - now).total_seconds()
    return max(0.5, min(interval, edge))
