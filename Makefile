# mdstream: `make run` and `make test` set everything up on a fresh machine
# (Python 3 with venv, a C compiler and make are all they need).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: run test bench wheel venv install clean

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

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m benchmarks

wheel: $(PY)
	$(PIP) install --quiet build
	$(PY) -m build --wheel --outdir dist .

clean:
	rm -rf build dist *.egg-info src/*.egg-info src/mdstream/*.so src/mdstream/_core.c src/mdstream/_codec.c src/mdstream/_testing.c src/mdstream/v1 $(VENV)
