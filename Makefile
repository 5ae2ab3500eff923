# The two commands of the README: `make run` and `make test`. Both start from nothing but Python 3.11.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# apt-get needs root: use sudo when we are not root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test venv test-deps chromium postgresql vendor meshlab-libs clean

# three.js, the 3D page's renderer: the npm registry's tarball, checked against its pinned sha512 integrity and
# unpacked (only the files the page imports) into a folder git ignores. No Node.js, no build step.
THREE_VERSION := 0.187.0
THREE_INTEGRITY := sha512-Qiu7R+Cmh8CstZsY1uJOSWnVlfo7ZtNLV7mF8Jltk3LB3AtDu9cRZlcnRKkAk8Y4z6KKw35z7Y7Urd7jWY8etA==
THREE_DIR := static/vendor/three
THREE_FILES := LICENSE build/three.module.js build/three.core.js examples/jsm/controls/OrbitControls.js \
	examples/jsm/loaders/GLTFLoader.js examples/jsm/utils/BufferGeometryUtils.js \
	examples/jsm/utils/SkeletonUtils.js

# Swagger UI, the API documentation page (/api-docs): swagger-ui-dist's prebuilt bundle, fetched the same way.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_INTEGRITY := sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
SWAGGER_UI_DIR := static/vendor/swagger-ui
SWAGGER_UI_FILES := LICENSE NOTICE swagger-ui-bundle.js swagger-ui.css

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

$(THREE_DIR)/.version-$(THREE_VERSION):
	$(PYTHON) tools/fetch_npm_package.py three $(THREE_VERSION) $(THREE_INTEGRITY) $(THREE_DIR) $(THREE_FILES)

$(SWAGGER_UI_DIR)/.version-$(SWAGGER_UI_VERSION):
	$(PYTHON) tools/fetch_npm_package.py swagger-ui-dist $(SWAGGER_UI_VERSION) $(SWAGGER_UI_INTEGRITY) \
		$(SWAGGER_UI_DIR) $(SWAGGER_UI_FILES)

vendor: $(THREE_DIR)/.version-$(THREE_VERSION) $(SWAGGER_UI_DIR)/.version-$(SWAGGER_UI_VERSION)

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

run: venv vendor
	$(PY) -m flask --app app run-all

test: test-deps vendor
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV)
