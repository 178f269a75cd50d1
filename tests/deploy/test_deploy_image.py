"""The container image, built and run for real: a Debian base made locally
with mmdebstrap (deploy/debian-base.sh), the Dockerfile built with
`buildah bud --isolation=chroot`, and the image run with `buildah run`:
`mdstream --version`, and a started `mdstream serve` that the image's own
HEALTHCHECK command finds SERVING and that stops cleanly on SIGTERM.

Runs only when asked for (`make deploy-check`, or `pytest -m deploy` with
buildah and mmdebstrap installed): the build takes minutes. Timings go to
build/deploy/image-timings.json and to the terminal.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time

import pytest

from deploy_helpers import ROOT

import mdstream

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(1800)]

BASE = "localhost/mdstream-debian-base"
IMAGE = "localhost/mdstream:deploy-check"
OUT = ROOT / "build" / "deploy"
# pip inside the build goes through this machine's CA bundle (a network with
# a TLS-inspecting proxy); the file is mounted into the build, not copied.
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"


def _asked_for(config) -> bool:
    return os.environ.get("MDSTREAM_DEPLOY_CHECK") == "1" or \
        (config.getoption("markexpr") or "").strip() == "deploy"


@pytest.fixture(scope="module")
def image(request):
    if not _asked_for(request.config):
        pytest.skip("the image build (minutes) runs in `make deploy-check` "
                    "(or `pytest -m deploy` with buildah and mmdebstrap installed)")
    missing = [tool for tool in ("buildah", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        message = (f"{' and '.join(missing)} missing: `make deploy-check` installs them "
                   "(apt-get install buildah mmdebstrap, as root)")
        if os.environ.get("MDSTREAM_DEPLOY_CHECK") == "1":
            pytest.fail(message)
        pytest.skip(message)
    OUT.mkdir(parents=True, exist_ok=True)
    timings = {}
    cached = (OUT / "debian-bookworm-python.tar").exists()
    t0 = time.monotonic()
    _run([str(ROOT / "deploy" / "debian-base.sh"), BASE, "bookworm"], cwd=ROOT, log="base.log")
    timings["base_s"] = round(time.monotonic() - t0, 1)
    timings["base_rootfs_cached"] = cached
    build = ["buildah", "bud", "--isolation=chroot", "--format=docker", "--layers=false",
             "--pull=never",
             "--build-arg", f"BASE={BASE}", "-t", IMAGE]
    if os.path.exists(HOST_CA):
        build += ["--volume", f"{HOST_CA}:/run/mdstream-build-ca.crt:ro",
                  "--build-arg", "PIP_CERT=/run/mdstream-build-ca.crt"]
    t0 = time.monotonic()
    try:
        _run([*build, str(ROOT)], cwd=ROOT, log="build.log")
        timings["image_build_s"] = round(time.monotonic() - t0, 1)
        inspect = json.loads(_run(["buildah", "inspect", "--type", "image", IMAGE]).stdout)
        timings["image_size"] = json.loads(_run(["buildah", "images", "--json", IMAGE]).stdout)[0]["size"]
        (OUT / "image-timings.json").write_text(json.dumps(timings, indent=2) + "\n")
        print("\nimage timings:", json.dumps(timings))
        container = _run(["buildah", "from", "--pull=never", IMAGE]).stdout.strip()
        try:
            yield container, inspect
        finally:
            subprocess.run(["buildah", "rm", container], capture_output=True)
    finally:
        subprocess.run(["buildah", "rmi", IMAGE], capture_output=True)


def _run(cmd, cwd=None, log: str | None = None, timeout: float = 1500) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if log:
        (OUT / log).write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (f"{shlex.join(map(str, cmd))} failed ({result.returncode}):\n"
                                    + (result.stdout + result.stderr)[-4000:])
    return result


def _in_image(container: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["buildah", "run", "--isolation=chroot", container, "--", *argv],
                          capture_output=True, text=True, timeout=timeout)


def test_the_image_runs_mdstream(image):
    container, _ = image
    result = _in_image(container, "mdstream", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"mdstream {mdstream.__version__}"
    result = _in_image(container, "id", "-u")
    assert result.stdout.strip() == "10001"


def test_the_image_is_configured_for_serving(image):
    _, inspect = image
    config = inspect["Docker"]["config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["mdstream"]
    assert config["Cmd"] == ["serve", "--host", "0.0.0.0"]
    assert {"50051/tcp", "9100/tcp", "8080/tcp"} <= set(config["ExposedPorts"])
    assert config["Healthcheck"]["Test"][0] == "CMD"


# Started inside the image as its user: `mdstream serve` on a free loopback
# port (the network is the host's under chroot isolation) with its journal
# where the manifests put it, the image's HEALTHCHECK command against it, then
# SIGTERM, the exit status and the journal's segment files.
JOURNAL = "/var/lib/mdstream/journal"
SCRIPT = r"""
set -u
log=$(mktemp)
"$@" > "$log" 2>&1 &
pid=$!
i=0
until grep -q 'listening on' "$log"; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 $pid 2>/dev/null; then echo "serve did not start:"; cat "$log"; exit 3; fi
    sleep 0.1
done
port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$log")
MDSTREAM_HEALTHCHECK_TARGET=127.0.0.1:$port $HEALTHCHECK; healthy=$?
kill -TERM $pid; wait $pid; stopped=$?
cat "$log"
echo "healthcheck=$healthy serve_exit=$stopped journal_segments=$(ls "$JOURNAL" | grep -c '\.mdj$')"
"""


def test_a_started_server_passes_the_image_healthcheck_and_stops_on_sigterm(image):
    container, inspect = image
    config = inspect["Docker"]["config"]
    healthcheck = shlex.join(config["Healthcheck"]["Test"][1:])
    serve = [*config["Entrypoint"], "serve", "--host", "127.0.0.1", "--port", "0", "--rate", "1000",
             "--journal", JOURNAL]
    result = _in_image(container, "env", f"HEALTHCHECK={healthcheck}", f"JOURNAL={JOURNAL}",
                       "sh", "-c", SCRIPT, "sh", *serve)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "healthcheck=0 serve_exit=0 journal_segments=" in result.stdout, result.stdout + result.stderr
    segments = int(result.stdout.rsplit("journal_segments=", 1)[1].split()[0])
    assert segments >= 1, result.stdout
