"""Runs the pods of Jobs that land on the fake node, as a kubelet would, but on this machine.

kwok plays the node and every long-running pod; a Job's pod must do its work, or the Job
controller would judge nothing real. For each such pod this process resolves its volumes
(ConfigMap and Secret files, emptyDirs, and a claim's bound hostPath volume), runs its container's
command with the container's environment in a mount namespace of its own where each volume is
bound at its mountPath, and writes the pod's phase back: Running, then Succeeded or Failed with
the exit code. A pod that is deleted (an expired activeDeadlineSeconds, a Job deleted) has its
process stopped, SIGTERM first as a kubelet does. Output goes to `<workdir>/<namespace>_<pod>.log`.

Not a kubelet: no images (the command runs from this project's environment), no user switch, no
probes, and one container per pod.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("pod-runner")
# Outside every mountPath a pod uses: where its volumes' sources are held while they are mounted.
KEEP = Path("/run/krakenops-pod-runner")
Json = dict[str, Any]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Run:
    """One pod's process, and what is known of it."""

    namespace: str
    name: str
    uid: str
    process: subprocess.Popen[bytes]
    started_at: str
    grace_seconds: int
    stopping: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class PodRunner:
    """Watches the node's pods and runs those that Jobs own."""

    def __init__(self, api: client.CoreV1Api, node: str, workdir: Path, bin_dir: Path) -> None:
        self.api = api
        self.node = node
        self.workdir = workdir
        self.bin_dir = bin_dir
        # The checkout whose environment runs the commands (bin_dir is its .venv/bin).
        self.project = bin_dir.parent.parent
        self.runs: dict[str, Run] = {}
        self.lock = threading.Lock()

    def serve(self) -> None:
        self._fail_orphans()
        log.info("watching pods on %s", self.node)
        while True:
            try:
                # A watch begins with the pods as they are: a pod deleted while no watch ran
                # has no DELETED event, so its process is stopped here.
                listed = self.plain(
                    self.api.list_pod_for_all_namespaces(
                        field_selector=f"spec.nodeName={self.node}"
                    )
                )
                present = {pod["metadata"]["uid"] for pod in listed.get("items", [])}
                with self.lock:
                    vanished = [run for uid, run in self.runs.items() if uid not in present]
                for run in vanished:
                    self.stop(run)
                for event in watch.Watch().stream(
                    self.api.list_pod_for_all_namespaces,
                    field_selector=f"spec.nodeName={self.node}",
                    timeout_seconds=300,
                ):
                    self.handle(event["type"], event["object"])
            except ApiException as error:
                # An expired resourceVersion or a restarted API server: list and watch anew.
                log.warning("watch ended (%s); watching again", error.status)
                time.sleep(1)
            except Exception:
                log.exception("watch failed; watching again")
                time.sleep(1)

    def handle(self, kind: str, found: client.V1Pod) -> None:
        pod = self.plain(found)
        if not _owned_by_job(pod):
            return
        with self.lock:
            run = self.runs.get(pod["metadata"]["uid"])
        if kind == "DELETED" or "deletionTimestamp" in pod["metadata"]:
            if run is not None:
                self.stop(run)
            return
        if run is None and pod.get("status", {}).get("phase") == "Pending":
            self.start(pod)

    def plain(self, found: Any) -> Json:
        """An API object as the JSON the server sent: camelCase keys, no None fields."""
        document: Json = self.api.api_client.sanitize_for_serialization(found)
        return document

    def start(self, pod: Json) -> None:
        meta = pod["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        container = pod["spec"]["containers"][0]
        try:
            mounts = self._mounts(pod, container)
            environment = self._environment(pod, container)
        except Exception as error:  # a pod whose volumes cannot be made fails, as on a node
            log.warning("%s/%s cannot start: %s", namespace, name, error)
            self._finish(namespace, name, container, now(), 128, f"CreateContainerError: {error}")
            return
        argv = [*container.get("command", []), *container.get("args", [])]
        script = _mount_script(mounts, self.project, KEEP / uid)
        workdir = container.get("workingDir", "/")
        script.append(f"cd {shlex.quote(workdir)}")
        script.append("exec " + " ".join(shlex.quote(a) for a in argv))
        output = open(self.workdir / f"{namespace}_{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        started_at = now()
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script)],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.close()
        run = Run(
            namespace,
            name,
            uid,
            process,
            started_at,
            int(pod["spec"].get("terminationGracePeriodSeconds", 30)),
        )
        with self.lock:
            self.runs[uid] = run
        log.info("%s/%s started: %s (pid %d)", namespace, name, shlex.join(argv), process.pid)
        self._patch(namespace, name, _running(container, started_at))
        threading.Thread(target=self._wait, args=(run, container), daemon=True).start()

    def stop(self, run: Run) -> None:
        if run.stopping or run.done.is_set():
            return
        run.stopping = True
        log.info("%s/%s deleted: stopping pid %d", run.namespace, run.name, run.process.pid)
        run.process.send_signal(signal.SIGTERM)

        def kill_after_grace() -> None:
            if not run.done.wait(run.grace_seconds):
                run.process.kill()

        threading.Thread(target=kill_after_grace, daemon=True).start()

    def stop_all(self) -> None:
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            self.stop(run)
        for run in runs:
            run.done.wait(5)

    def _wait(self, run: Run, container: Json) -> None:
        code = run.process.wait()
        run.done.set()
        # Only empty mountpoints are left here: the mounts lived in the pod's own namespace.
        shutil.rmtree(KEEP / run.uid, ignore_errors=True)
        log.info("%s/%s exited with %d", run.namespace, run.name, code)
        if not run.stopping:
            self._finish(run.namespace, run.name, container, run.started_at, code, None)

    def _finish(
        self,
        namespace: str,
        name: str,
        container: Json,
        started_at: str,
        code: int,
        message: str | None,
    ) -> None:
        self._patch(namespace, name, _terminated(container, started_at, code, message))

    def _patch(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        try:
            self.api.patch_namespaced_pod_status(name, namespace, {"status": status})
        except ApiException as error:
            if error.status != 404:  # a pod already gone needs no status
                log.warning("%s/%s status not written: %s", namespace, name, error.reason)

    def _mounts(self, pod: Json, container: Json) -> list[tuple[str, str, bool]]:
        """(folder here, mountPath, read-only) for each of the container's volume mounts."""
        namespace, base = pod["metadata"]["namespace"], self.workdir / pod["metadata"]["uid"]
        sources = {
            volume["name"]: self._volume(namespace, volume, base / volume["name"])
            for volume in pod["spec"].get("volumes", [])
        }
        return [
            (sources[m["name"]], m["mountPath"], bool(m.get("readOnly")))
            for m in container.get("volumeMounts", [])
        ]

    def _volume(self, namespace: str, volume: Json, folder: Path) -> str:
        if "persistentVolumeClaim" in volume:
            claim = self.plain(
                self.api.read_namespaced_persistent_volume_claim(
                    volume["persistentVolumeClaim"]["claimName"], namespace
                )
            )
            bound_to = claim["spec"].get("volumeName")
            if not bound_to:
                raise RuntimeError(f"claim {claim['metadata']['name']} is not bound")
            bound = self.plain(self.api.read_persistent_volume(bound_to))
            if "hostPath" not in bound["spec"]:
                raise RuntimeError(f"volume {bound_to} is not a hostPath volume")
            return str(bound["spec"]["hostPath"]["path"])
        folder.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            data = self._config_map(namespace, volume["configMap"]["name"])
            _write_items(folder, data, volume["configMap"].get("items"), None)
        elif "secret" in volume:
            data = self._secret(namespace, volume["secret"]["secretName"])
            _write_items(folder, data, volume["secret"].get("items"), 0o400)
        elif "emptyDir" not in volume:
            raise RuntimeError(
                f"volume {volume['name']}: only claims, ConfigMaps, Secrets, emptyDirs"
            )
        return str(folder)

    def _config_map(self, namespace: str, name: str) -> dict[str, str]:
        found = self.plain(self.api.read_namespaced_config_map(name, namespace))
        data: dict[str, str] = found.get("data", {})
        return data

    def _secret(self, namespace: str, name: str) -> dict[str, str]:
        data = self.plain(self.api.read_namespaced_secret(name, namespace)).get("data", {})
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def _environment(self, pod: Json, container: Json) -> dict[str, str]:
        meta = pod["metadata"]
        environment = {
            "PATH": f"{self.bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp",  # the pods mount an emptyDir there
            "HOSTNAME": meta["name"],
            "LANG": "C.UTF-8",
        }
        for item in container.get("env", []):
            source = item.get("valueFrom")
            if source is None:
                environment[item["name"]] = item.get("value", "")
            elif "fieldRef" in source:
                field_path = source["fieldRef"]["fieldPath"]
                fields = {"metadata.namespace": meta["namespace"], "metadata.name": meta["name"]}
                environment[item["name"]] = fields[field_path]
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                environment[item["name"]] = self._secret(meta["namespace"], ref["name"])[ref["key"]]
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                values = self._config_map(meta["namespace"], ref["name"])
                environment[item["name"]] = values[ref["key"]]
        return environment

    def _fail_orphans(self) -> None:
        """Pods left running by an earlier runner have no process any more: they failed."""
        found = self.api.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={self.node}")
        for pod in self.plain(found).get("items", []):
            if _owned_by_job(pod) and pod.get("status", {}).get("phase") == "Running":
                meta = pod["metadata"]
                self._finish(
                    meta["namespace"],
                    meta["name"],
                    pod["spec"]["containers"][0],
                    now(),
                    137,
                    "the pod runner restarted while the pod ran",
                )


def _mount_script(mounts: list[tuple[str, str, bool]], project: Path, keep: Path) -> list[str]:
    """Shell lines that put each volume at its mountPath in the pod's mount namespace.

    A mountPath can hide a folder the pod still needs: an emptyDir at /tmp hides a checkout or a
    cluster folder under /tmp, the project's environment included. So every source is first
    bound under `keep` (outside every mountPath), the volumes are mounted from there, and the
    project is put back at its own path last.
    """
    lines = ["set -e", f"mkdir -p {shlex.quote(str(keep / 'project'))}"]
    lines.append(f"mount --bind {shlex.quote(str(project))} {shlex.quote(str(keep / 'project'))}")
    for index, (source, _, _) in enumerate(mounts):
        kept = shlex.quote(str(keep / str(index)))
        lines += [f"mkdir -p {kept}", f"mount --bind {shlex.quote(source)} {kept}"]
    for index, (_, target, read_only) in enumerate(mounts):
        kept, at = shlex.quote(str(keep / str(index))), shlex.quote(target)
        lines += [f"mkdir -p {at}", f"mount --bind {kept} {at}"]
        if read_only:
            lines.append(f"mount -o remount,bind,ro {at}")
    at = shlex.quote(str(project))
    lines += [f"mkdir -p {at}", f"mount --bind {shlex.quote(str(keep / 'project'))} {at}"]
    return lines


def _owned_by_job(pod: Json) -> bool:
    return any(owner["kind"] == "Job" for owner in pod["metadata"].get("ownerReferences", []))


def _write_items(
    folder: Path, data: dict[str, str], items: list[Json] | None, mode: int | None
) -> None:
    chosen = [(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]
    for key, path in chosen:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data[key])
        if mode is not None:
            target.chmod(mode)


def _conditions(ready: bool, at: str) -> list[dict[str, Any]]:
    flag = "True" if ready else "False"
    return [
        {"type": "Initialized", "status": "True", "lastTransitionTime": at},
        {"type": "Ready", "status": flag, "lastTransitionTime": at},
        {"type": "ContainersReady", "status": flag, "lastTransitionTime": at},
    ]


def _running(container: Json, started_at: str) -> Json:
    return {
        "phase": "Running",
        "startTime": started_at,
        "hostIP": "127.0.0.1",
        "conditions": _conditions(True, started_at),
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": started_at}},
            }
        ],
    }


def _terminated(container: Json, started_at: str, code: int, message: str | None) -> Json:
    finished_at = now()
    terminated: dict[str, Any] = {
        "exitCode": code,
        "reason": "Completed" if code == 0 else "Error",
        "startedAt": started_at,
        "finishedAt": finished_at,
    }
    if message:
        terminated["message"] = message
    return {
        "phase": "Succeeded" if code == 0 else "Failed",
        "conditions": _conditions(False, finished_at),
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 0,
                "state": {"terminated": terminated},
            }
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--node", default="kwok-node-0")
    parser.add_argument(
        "--bin-dir",
        type=Path,
        default=Path(sys.executable).parent,
        help="Where the pods' commands are found: this project's environment.",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if shutil.which("unshare") is None:
        sys.exit("pod-runner: needs unshare (util-linux) to give each pod its mounts")
    if os.geteuid() != 0:
        sys.exit("pod-runner: must run as root, to bind each pod's volumes at their mountPaths")
    args.workdir.mkdir(parents=True, exist_ok=True)
    runner = PodRunner(
        client.CoreV1Api(config.new_client_from_config(args.kubeconfig)),
        args.node,
        args.workdir,
        args.bin_dir,
    )

    def terminate(signum: int, frame: Any) -> None:
        runner.stop_all()
        sys.exit(0)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    runner.serve()


if __name__ == "__main__":
    main()
