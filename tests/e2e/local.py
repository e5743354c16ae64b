"""`make e2e` on the local control plane: kubectl and helm as built for it, and the operator run
here as a process that logs in with its ServiceAccount's token, so that a verb missing from the
chart's Role fails the run as it would in a cluster."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from tests.e2e.cluster import Cluster, operator_environment

__all__ = ["LocalCluster", "local_operator"]

PROJECT = Path(__file__).resolve().parents[2]
BUILD = PROJECT / "tests" / "cluster" / "build.sh"
OPERATOR_DEPLOYMENT = "paper-krakenops-operator"
STARTUP_SECONDS = 60.0


class LocalCluster:
    """The local cluster's kubeconfig and the kubectl and helm built for it."""

    def __init__(self, kubeconfig: Path, namespace: str, artifacts: Path) -> None:
        self.kubeconfig = kubeconfig.resolve()
        self.namespace = namespace
        self.artifacts = artifacts.resolve()
        bin_dir = subprocess.run(
            ["bash", str(BUILD)], check=True, capture_output=True, text=True
        ).stdout.strip()
        self.bin = Path(bin_dir)

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        """Run kubectl in the namespace; fail with its stderr when it fails."""
        return self._run("kubectl", "-n", self.namespace, *args, stdin=stdin, check=check)

    def helm(self, *args: str) -> str:
        return self._run("helm", "-n", self.namespace, *args)

    def _run(self, tool: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            [str(self.bin / tool), *args],
            input=stdin,
            capture_output=True,
            check=False,
            text=True,
            env=os.environ | {"KUBECONFIG": str(self.kubeconfig)},
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{tool} {' '.join(args)} failed ({done.returncode}):\n{done.stderr}"
            )
        return done.stdout + (done.stderr if not check else "")

    def token_kubeconfig(self, service_account: str, path: Path) -> Path:
        """A kubeconfig that logs in as `service_account` with a token from the TokenRequest API."""
        token = self.kubectl("create", "token", service_account, "--duration", "2h").strip()
        admin = yaml.safe_load(self.kubeconfig.read_text())
        (cluster,) = admin["clusters"]
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": [{"name": service_account, "user": {"token": token}}],
            "contexts": [
                {
                    "name": service_account,
                    "context": {
                        "cluster": cluster["name"],
                        "user": service_account,
                        "namespace": self.namespace,
                    },
                }
            ],
            "current-context": service_account,
        }
        path.write_text(yaml.safe_dump(document))
        path.chmod(0o600)
        return path


@contextlib.contextmanager
def local_operator(
    local: LocalCluster, cluster: Cluster, logs: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`krakenops operator` as the chart runs it, as this machine's process, with the chart's
    ServiceAccount's token and the local claim's folder as its artifact root."""
    deployment = cluster.get(("apps/v1", "Deployment"), OPERATOR_DEPLOYMENT)
    assert deployment is not None, (
        f"{OPERATOR_DEPLOYMENT} missing: was the paper release installed?"
    )
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    kubeconfig = local.token_kubeconfig(account, logs / "operator.kubeconfig")
    environment = os.environ | operator_environment(deployment, local.namespace)
    environment |= {
        "KRAKENOPS_OPERATOR_KUBECONFIG": str(kubeconfig),
        "KRAKENOPS_OPERATOR_ARTIFACT_ROOT": str(local.artifacts),
        # No listeners: a port of this machine is not the pod's own.
        "KRAKENOPS_OPERATOR_METRICS_PORT": "0",
        "KRAKENOPS_OPERATOR_LIVENESS_PORT": "0",
        # Act on window edges and Jobs within a few seconds, so the run stays short.
        "KRAKENOPS_OPERATOR_RECONCILE_INTERVAL_SECONDS": "2",
        "KRAKENOPS_OPERATOR_JOB_POLL_SECONDS": "1",
    }
    log = (logs / "operator.log").open("ab")
    process = subprocess.Popen(
        # setpriv: Linux sends the operator SIGTERM when this process dies, however it dies.
        [
            "setpriv",
            "--pdeathsig",
            "TERM",
            str(Path(sys.executable).parent / "krakenops"),
            "operator",
        ],
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # `make cluster-down` stops it too, should this process die before its own clean-up.
    pidfile = local.kubeconfig.parent / "run" / "operator.pid"
    pidfile.write_text(str(process.pid))
    try:
        time.sleep(1)
        if process.poll() is not None:
            raise AssertionError(f"the operator exited with {process.returncode}: see {log.name}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        pidfile.unlink(missing_ok=True)
