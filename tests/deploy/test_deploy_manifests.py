"""The Kubernetes manifests and the compose file: valid against their schemas
(kubernetes-validate, the compose spec), with gRPC health probes, and running
mdstream commands its parser accepts."""

from __future__ import annotations

import copy
import shlex
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from deploy_helpers import (COMPOSE, KUBERNETES, MANIFESTS, find_object, has_command,
                            kubernetes_objects, load_documents, serve_has_publish)
from mdstream.cli.parser import build_parser

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(120)]

# The Kubernetes version the manifests are written for (grpc probes: 1.27+).
KUBERNETES_VERSION = "1.30.0"


def _validate(doc: dict) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_are_valid_kubernetes(path):
    docs = load_documents(path)
    assert docs, f"{path} holds no object"
    for doc in docs:
        _validate(doc)


def test_the_validator_catches_a_mistake():
    edge = copy.deepcopy(find_object("Deployment", "mdstream-edge"))
    container = edge["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["grpc"]["prot"] = container["readinessProbe"]["grpc"].pop("port")
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(edge)


def test_kustomization_lists_every_manifest():
    kustomization = load_documents(KUBERNETES / "kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS)
    namespaces = [doc for _, doc in kubernetes_objects() if doc["kind"] == "Namespace"]
    assert [ns["metadata"]["name"] for ns in namespaces] == [kustomization["namespace"]]


def _container(kind: str, name: str) -> dict:
    (container,) = find_object(kind, name)["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("kind,name", [("StatefulSet", "mdstream-engine"),
                                       ("Deployment", "mdstream-edge")])
def test_mdstream_pods_are_probed_through_the_grpc_health_service(kind, name):
    container = _container(kind, name)
    grpc_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "grpc")
    assert container["args"][container["args"].index("--port") + 1] == str(grpc_port)
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == grpc_port, probe
    # Probes reach the pod's address, not its loopback.
    assert container["args"][container["args"].index("--host") + 1] == "0.0.0.0"


def test_the_services_select_the_pods_they_name():
    for service, workload in [("mdstream", ("Deployment", "mdstream-edge")),
                              ("mdstream-engine", ("StatefulSet", "mdstream-engine")),
                              ("nats", ("StatefulSet", "nats")),
                              ("nats-headless", ("StatefulSet", "nats"))]:
        selector = find_object("Service", service)["spec"]["selector"]
        labels = find_object(*workload)["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), service
    assert find_object("StatefulSet", "nats")["spec"]["serviceName"] == "nats-headless"


def test_the_engine_keeps_its_journal_on_a_persistent_volume():
    engine = find_object("StatefulSet", "mdstream-engine")
    assert engine["spec"]["replicas"] == 1        # the journal is locked by one engine
    (claim,) = engine["spec"]["volumeClaimTemplates"]
    args = _container("StatefulSet", "mdstream-engine")["args"]
    journal = args[args.index("--journal") + 1]
    mounts = {m["name"]: m["mountPath"] for m in _container("StatefulSet", "mdstream-engine")["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == journal


def test_compose_file_matches_the_compose_spec():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_check_catches_a_mistake(tmp_path):
    compose = yaml.safe_load(COMPOSE.read_text())
    compose["services"]["edge"]["depends_on"] = {"engine": {"condition": "service_ready"}}
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(compose))
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.compose-spec", str(broken)], capture_output=True, text=True)
    assert result.returncode == 1 and "service_ready" in result.stdout


# -- the commands: what the manifests run must be what `mdstream` accepts ------------

def _compose_commands() -> dict[str, list[str]]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    out = {}
    for name in ("engine", "edge"):
        command = services[name]["command"]
        out[f"compose {name}"] = shlex.split(command) if isinstance(command, str) else command
    return out


def _commands() -> dict[str, list[str]]:
    commands = {"kubernetes engine": _container("StatefulSet", "mdstream-engine")["args"],
                "kubernetes edge": _container("Deployment", "mdstream-edge")["args"]}
    commands.update(_compose_commands())
    return commands


def _parse(argv: list[str]):
    """(namespace, unknown args); pytest.fail with argparse's message on a usage error."""
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return build_parser().parse_known_args(argv)
    except SystemExit:
        pytest.fail(f"mdstream {shlex.join(argv)}: {err.getvalue().strip()}")


def _without_options(argv: list[str], prefix: str) -> list[str]:
    """argv less every `--prefix... VALUE` / `--prefix...=VALUE`; fails if none is there."""
    out, i = [], 0
    while i < len(argv):
        if argv[i].startswith(prefix):
            i += 1 if "=" in argv[i] else 2
            continue
        out.append(argv[i])
        i += 1
    assert len(out) < len(argv), f"no {prefix} option in {argv}"
    return out


@pytest.mark.parametrize("where", sorted(_commands()))
def test_the_commands_run_are_accepted_by_mdstream(where):
    argv = list(_commands()[where])
    if argv[0] == "edge" and not has_command("edge"):
        pytest.skip("`mdstream edge` is not in this version of mdstream yet; "
                    "its arguments are checked once it is")
    if argv[0] == "serve" and not serve_has_publish():
        # `serve --publish` comes with the NATS scale-out: until then its options
        # are left out here, and every other option must parse.
        argv = _without_options(argv, "--publish")
    args, unknown = _parse(argv)
    assert not unknown, f"mdstream does not know {unknown} ({where})"
    assert args.command == argv[0]


def test_the_nats_address_is_the_same_everywhere():
    sources = {}
    for where, argv in _commands().items():
        for i, arg in enumerate(argv):
            if arg in ("--publish", "--source"):
                sources[where] = argv[i + 1]
            elif arg.startswith(("--publish=", "--source=")):
                sources[where] = arg.split("=", 1)[1]
    assert set(sources) == set(_commands())
    assert set(sources.values()) == {"nats://nats:4222"}, sources
    nats = find_object("Service", "nats")
    assert [p["port"] for p in nats["spec"]["ports"]] == [4222]


def test_compose_references_resolve():
    """What the schema cannot see: named volumes declared, dependencies that
    exist and have a health check to wait for, one NATS name for all nodes."""
    compose = yaml.safe_load(COMPOSE.read_text())
    services, volumes = compose["services"], compose.get("volumes") or {}
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name}: volume {source!r} is not declared"
        for target, condition in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target!r}"
            if condition.get("condition") == "service_healthy":
                # The mdstream image has a HEALTHCHECK of its own (the Dockerfile's).
                assert "healthcheck" in services[target] or services[target]["image"].startswith("mdstream:"), target
    nats_nodes = [n for n in services if n.startswith("nats-")]
    assert len(nats_nodes) == 3
    for node in nats_nodes:
        assert "nats" in services[node]["networks"]["default"]["aliases"]
    assert "HEALTHCHECK" in (COMPOSE.parents[1] / "Dockerfile").read_text()
