"""`krakenops promote` and `krakenops rollback`: move an environment's approved pointer, or refuse."""

from __future__ import annotations

import argparse
import re
import sys
import uuid

from krakenops.core.artifacts import ArtifactError, ArtifactStore
from krakenops.core.clock import SystemClock
from krakenops.core.commands import load_for_cli, model_id_argument
from krakenops.core.config import ConfigError, EnvironmentConfig, GateThresholds
from krakenops.core.promotion import PromotionOutcome, PromotionRequest, PromotionService
from krakenops.core.records import Action
from krakenops.core.termination import exit_on_sigterm
from krakenops.trainer.cluster import (
    ClusterOutcome,
    KubernetesPromotions,
    PromotionApi,
    in_cluster,
    promotion_manifest,
    request_promotion,
)

__all__ = [
    "BadInputError",
    "already_done",
    "environment_id",
    "promote_command",
    "promote_locally",
    "rollback_command",
]

_ENV = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")


class BadInputError(ValueError):
    """The command line names something that does not exist or is malformed."""


def environment_id(name: str) -> str:
    """The underscore id of an environment (its artifact folders' name) given either as `live-x`
    or `live_x`."""
    if not _ENV.fullmatch(name):
        raise BadInputError(f"--env {name!r} is not an environment name (a-z, 0-9, '-' or '_')")
    return name.replace("-", "_")


def store_for(config: EnvironmentConfig, env: str) -> ArtifactStore:
    """The artifact store holding `env`'s pointer; an environment nobody configured is refused."""
    env_id = environment_id(env)
    store = ArtifactStore(config.spec.artifacts, env_id)
    store.verify_isolation()
    known = env_id == config.env_id or store.pointer_dir.is_dir() or store.logs.is_dir()
    if not known:
        raise BadInputError(
            f"--env {env}: no environment {env_id} under {store.models}; "
            f"pass that environment's own --config (this one is {config.env_id})"
        )
    return store


def promote_locally(
    store: ArtifactStore, request: PromotionRequest, gates: GateThresholds
) -> PromotionOutcome:
    """Run a request through the one promotion service on the artifact store itself; `gates`
    are those of the environment whose pointer moves."""
    store.ensure_layout()
    exit_on_sigterm()  # a pointer or log line half-written is cleaned up, never left behind
    return PromotionService(store, SystemClock(), gates).execute(request)


def already_done(store: ArtifactStore, action: Action, model_id: str | None) -> str | None:
    """What makes this request a repeat of the change in force, or None to go ahead.

    A promote of the model the pointer names (with the sha256 it names) is; so is a rollback
    after a rollback, which has nothing further to restore. Anything unreadable goes ahead, for
    the promotion service to refuse it with its reasons.
    """
    try:
        current = store.read_pointer()
        if current is None:
            return None
        if action is Action.ROLLBACK and current.action is Action.ROLLBACK:
            return (
                f"already rolled back to {current.model_id} at {current.promoted_at:%Y-%m-%d %H:%M} "
                f"UTC ({current.promotion}); a rollback goes one step back"
            )
        same = action is Action.PROMOTE and current.model_id == model_id
        if same and model_id and store.verify_candidate(model_id) == current.sha256:
            return (
                f"{model_id} (sha256 {current.sha256[:12]}) is already approved since "
                f"{current.promoted_at:%Y-%m-%d %H:%M} UTC ({current.promotion})"
            )
    except ArtifactError:
        return None
    return None


def promote_command(argv: list[str], api: PromotionApi | None = None) -> int:
    """Promote a validated candidate; `api` stands in for the cluster's API server if given."""
    parser = _parser("promote", "Promote a validated candidate to an environment's approved model.")
    parser.add_argument(
        "--model-id",
        required=True,
        type=model_id_argument,
        help="the candidate, e.g. model_20260205_abc",
    )
    return _run(Action.PROMOTE, parser.parse_args(argv), api)


def rollback_command(argv: list[str], api: PromotionApi | None = None) -> int:
    """Restore the previous approved model; `api` as for promote_command."""
    parser = _parser("rollback", "Restore an environment's previous approved model.")
    return _run(Action.ROLLBACK, parser.parse_args(argv), api)


def _parser(action: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"krakenops {action}", description=description)
    parser.add_argument("--env", required=True, help="environment, e.g. live_kraken_crypto_global")
    parser.add_argument("--reason", default="", help="why, kept in the audit log")
    parser.add_argument("--confirm", help=f"must be yes-{action}")
    parser.add_argument("--config", help="TradingEnvironment YAML file locating the artifact store")
    parser.add_argument("--root", help="artifact root to use instead of the one in the file")
    cluster = parser.add_argument_group("cluster (creates a ModelPromotion instead)")
    cluster.add_argument("--namespace", help="namespace of the TradingEnvironment")
    cluster.add_argument("--kubeconfig", help="kubeconfig file; in a pod the service account")
    cluster.add_argument("--context", help="kubeconfig context")
    cluster.add_argument("--timeout", type=int, default=600, help="seconds to wait for an outcome")
    return parser


def _run(action: Action, args: argparse.Namespace, api: PromotionApi | None = None) -> int:
    prog = f"krakenops {action.value}"
    model_id = getattr(args, "model_id", None)
    try:
        if args.namespace or args.kubeconfig or (args.config is None and in_cluster()):
            return _run_in_cluster(action, args, model_id, api)
        if args.config is None:
            raise BadInputError("--config is needed to find the artifact store (or --namespace)")
        config = load_for_cli(args.config, args.root)
        store = store_for(config, args.env)
        if action is Action.PROMOTE and store.env_id != config.env_id:
            # The gates that hold are the moving environment's own, so its file must be the one.
            raise BadInputError(
                f"--env {args.env}: a promotion is held to the gates of the environment whose "
                f"pointer moves; pass {store.env_id}'s own --config (this one is {config.env_id})"
            )
    except (BadInputError, ConfigError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    done = already_done(store, action, model_id) if args.confirm == action.confirmation else None
    if done is not None:
        # Run twice, a command changes nothing the second time, and says so.
        print(f"{prog}: nothing to do for {store.env_id}: {done}")
        return 0
    request = PromotionRequest(
        action=action,
        confirm=args.confirm,
        request_id=f"cli-{uuid.uuid4().hex[:12]}",
        model_id=model_id,
        reason=args.reason,
    )
    outcome = promote_locally(store, request, config.spec.trainer.gates)
    if not outcome.applied:
        names = ", ".join(r.value for r in outcome.refusals)
        print(
            f"{prog}: REFUSED for {store.env_id} ({names}); the pointer is unchanged:",
            file=sys.stderr,
        )
        for message in outcome.messages:
            print(f"  - {message}", file=sys.stderr)
        return 1
    pointer, change = outcome.pointer, outcome.change
    assert pointer is not None
    assert change is not None
    before = change.from_model or "rules-only"
    print(
        f"{prog}: {store.env_id} now trades {pointer.model_id} (sha256 {pointer.sha256[:12]}), "
        f"was {before}; pointer {store.pointer}; audit {store.approvals_log}"
    )
    return 0


def _run_in_cluster(
    action: Action, args: argparse.Namespace, model_id: str | None, api: PromotionApi | None
) -> int:
    prog = f"krakenops {action.value}"
    environment = environment_id(args.env).replace("_", "-")
    if api is None:
        from kubernetes.config import ConfigException

        try:
            api = KubernetesPromotions(args.kubeconfig, args.context)
        except (ConfigException, OSError) as error:
            raise BadInputError(f"cannot reach the cluster: {error}") from None
    client = api
    namespace = args.namespace or KubernetesPromotions.default_namespace()
    manifest = promotion_manifest(environment, action, model_id, args.reason, args.confirm)
    from kubernetes.client.exceptions import ApiException

    try:
        outcome: ClusterOutcome = request_promotion(client, namespace, manifest, args.timeout)
    except ApiException as error:  # the API server's refusal (schema, CEL rule) is the answer
        print(
            f"{prog}: the API server refused the ModelPromotion: {_api_reason(error)}",
            file=sys.stderr,
        )
        return 1
    where = f"modelpromotion/{outcome.name} in {namespace}"
    if outcome.succeeded:
        print(f"{prog}: {where} {outcome.phase}: {outcome.message}")
        return 0
    print(f"{prog}: {where} {outcome.phase}: {outcome.message}", file=sys.stderr)
    return 1


def _api_reason(error: Exception) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    return str(body or error)
