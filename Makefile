# The two commands of the README: `make run` and `make test`. Both start from nothing but Python 3.11.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# apt-get needs root: use sudo when we are not root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test venv test-deps chromium postgresql meshlab-libs clean

# The XStatic front-end packages are source-only and still import pkg_resources while building,
# so they are built without isolation, against the setuptools<81 installed first.
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install --quiet --no-build-isolation -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed meshlab-libs

test-deps: $(VENV)/.installed-test meshlab-libs chromium postgresql

# PyMeshLab's wheel (the engine's meshing) is built with Qt and links the system's libGL and X11 client libraries.
meshlab-libs:
	@ldconfig -p | grep -q 'libGL.so.1 ' || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q libgl1; }

# Browser tests drive Debian's chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

# The scale-out tests (tests/scaleout) start a throwaway server of Debian's PostgreSQL in a temporary folder.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql; }

run: venv
	$(PY) -m flask --app app run-all

test: test-deps
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV)
