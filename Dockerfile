# syntax=docker/dockerfile:1
# mdstream's container image, in two stages:
#   build    compiles the Cython core into a wheel and collects the wheels of
#            every dependency (gcc and the Python headers are added when the
#            base lacks them);
#   runtime  installs those wheels (no compiler, no network) into a venv in a
#            slim image, runs as an unprivileged user (uid 10001) and checks
#            its health through the gRPC health service.
#
#   docker build -t mdstream .                  # or: buildah bud -t mdstream .
#   docker run --rm -p 50051:50051 mdstream     # mdstream serve --host 0.0.0.0
#   docker run --rm mdstream --version
#
# BASE is the runtime image and BUILD_BASE (default: BASE) the build image;
# both need the same Python 3.10+ (the wheels are built for it), with venv
# and, when a package is missing, apt-get. PIP_CERT (optional) is a CA bundle
# for pip inside the build, for networks behind a TLS-inspecting proxy (mount
# the file into the build, e.g. `buildah bud --volume HOST.crt:/run/ca.crt:ro
# --build-arg PIP_CERT=/run/ca.crt`); it is not kept in the image.
ARG BASE=docker.io/library/python:3.12-slim-bookworm
ARG BUILD_BASE=${BASE}

FROM ${BUILD_BASE} AS build
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN set -eu; pkgs=""; \
    command -v gcc >/dev/null || pkgs="gcc libc6-dev"; \
    python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
        || pkgs="$pkgs python3-dev"; \
    python3 -c 'import ensurepip' 2>/dev/null || pkgs="$pkgs python3-venv"; \
    if [ -n "$pkgs" ]; then \
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs \
        && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
# Only what the wheel is built from, so a change elsewhere keeps the cached layers.
COPY pyproject.toml setup.py MANIFEST.in README.md LICENSE ./
COPY proto ./proto
COPY src ./src
# The 'nats' extra (nats-py, for serve --publish and edge --source) is taken
# when this version of mdstream declares it; pip only warns otherwise.
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install -q ${PIP_CERT:+--cert "$PIP_CERT"} --upgrade pip \
    && /opt/build/bin/pip wheel -q ${PIP_CERT:+--cert "$PIP_CERT"} --wheel-dir /wheels ".[nats]" \
    && ls /wheels/mdstream-*.whl

FROM ${BASE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/mdstream/bin:$PATH PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/mdstream \
    && /opt/mdstream/bin/pip install -q --no-index --find-links /wheels "mdstream[nats]" \
    && useradd --uid 10001 --user-group --home-dir /var/lib/mdstream --create-home \
               --shell /usr/sbin/nologin mdstream \
    && install -d -o 10001 -g 10001 /var/lib/mdstream/journal \
    && mdstream --version
COPY deploy/healthcheck.py /usr/local/lib/mdstream/healthcheck.py
USER 10001:10001
# The journal's place (serve --journal /var/lib/mdstream/journal): owned by the
# user, so a volume mounted there starts out writable (docker copies it).
WORKDIR /var/lib/mdstream
# gRPC (serve and edge), Prometheus metrics (--metrics-port), dashboard (--dashboard-port)
EXPOSE 50051 9100 8080
# The gRPC health service on 127.0.0.1:50051 (MDSTREAM_HEALTHCHECK_TARGET for another port).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/opt/mdstream/bin/python", "/usr/local/lib/mdstream/healthcheck.py"]
ENTRYPOINT ["mdstream"]
CMD ["serve", "--host", "0.0.0.0"]
