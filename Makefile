# mdstream: `make run` and `make test` set everything up on a fresh machine
# (Python 3 with venv, a C compiler and make are all they need).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: run test bench plots wheel venv install browser docs clean deploy-check

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall (rebuilding the core) whenever a source of the build changed.
$(STAMP): $(PY) pyproject.toml setup.py $(shell find src proto -name '*.py*' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.proto' 2>/dev/null)
	$(PIP) install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/mdstream demo

# The dashboard test drives a headless Chromium: Debian's chromium package,
# installed here when missing (as root, where apt-get exists); without one,
# that test is skipped and says why.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the dashboard test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "no chromium and no apt-get as root: the dashboard's browser test will be skipped"; fi

test: install browser
	$(PY) -m pytest -q

# The deploy recipe built and run here (tests/deploy, marker deploy): Debian's
# buildah and mmdebstrap (installed as root with apt-get when missing), a local
# Debian base image, the Dockerfile built and run. Takes minutes.
deploy-check: install
	@if command -v buildah >/dev/null 2>&1 && command -v mmdebstrap >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's buildah and mmdebstrap"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah mmdebstrap >/dev/null; \
	else echo "deploy-check needs buildah and mmdebstrap: apt-get install buildah mmdebstrap (as root)"; exit 1; fi
	MDSTREAM_DEPLOY_CHECK=1 $(PY) -m pytest -q -s -m deploy -p no:cacheprovider tests/deploy

bench: install
	$(PY) -m benchmarks

# The performance curves (docs/PERFORMANCE.md): the scaling, latency and journal
# benchmarks into docs/perf/curves.jsonl (started afresh), then a PNG per curve
# into docs/perf. matplotlib comes with the test extra.
plots: install
	mkdir -p docs/perf
	: > docs/perf/curves.jsonl
	$(PY) -m benchmarks engine_scaling subscriber_scaling latency_rates journal --repeat 3 --output docs/perf/curves.jsonl
	$(PY) -m benchmarks.plots docs/perf/curves.jsonl docs/perf

wheel: $(PY)
	$(PIP) install --quiet build
	$(PY) -m build --wheel --outdir dist .

# The documentation site (mkdocs.yml) into site/; warnings are errors. The docs
# extra is installed from the installed package's metadata, so the core is not rebuilt.
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP)
	$(PY) -c 'from importlib.metadata import requires; print("\n".join(r.split(";")[0] for r in requires("mdstream") if "extra == \"docs\"" in r))' > $(VENV)/docs-requirements.txt
	$(PIP) install --quiet -r $(VENV)/docs-requirements.txt
	touch $@

# NO_MKDOCS_2_WARNING: no banner about Material for MkDocs' end of life (May 2027) at every
# build; docs/guides/install.md says what that means for the site.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf build dist *.egg-info src/*.egg-info src/mdstream/*.so src/mdstream/_core.c src/mdstream/_codec.c src/mdstream/_testing.c src/mdstream/v1 \
	       src/mdstream/*_pb2*.py* src/mdstream/*.proto site $(VENV)
