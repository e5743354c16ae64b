# Every target sets itself up: a fresh clone needs only python3 (3.11+) and make; `make e2e` on
# the local control plane also needs Go (1.26+), openssl, curl, util-linux and root (see README).
SHELL := /bin/bash
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# The full Kraken history that `make bench` trains on; the project ships only a slice of it.
MARKET_DATA ?= ../shared/data/kraken
KIND_CLUSTER ?= krakenops

.PHONY: setup demo test lint typecheck unit bench e2e e2e-kind e2e-local cluster-up cluster-down images clean prometheus

setup: $(VENV)/.synced

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet --compile-bytecode
	touch $@

demo: setup
	$(BIN)/krakenops demo

test: lint typecheck unit

lint: setup
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .

typecheck: setup
	$(BIN)/mypy

unit: setup prometheus
	$(BIN)/pytest -q

# The monitoring tests run Prometheus and promtool themselves: Debian's package brings both.
prometheus:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq prometheus; } || \
		{ echo "make prometheus: promtool and prometheus are missing and apt-get could not install Debian's prometheus package (run as root, or install it)" >&2; exit 1; }

bench: setup
	KRAKENOPS_BENCH_DATA=$(MARKET_DATA) $(BIN)/python -m bench

# `make e2e` takes kind when docker answers and kind is installed (the images built and loaded
# into it); otherwise the local control plane of `make cluster-up`, built from Go modules, with
# the operator run here under its ServiceAccount's token and Job pods run by the pod runner.
IMAGES := krakenops-trader:0.1.0 krakenops-trainer:0.1.0 krakenops-operator:0.1.0
NAMESPACE ?= krakenops
CLUSTER_DIR ?= .cluster
LOCAL_KUBECONFIG := $(CLUSTER_DIR)/kubeconfig
KIND_AVAILABLE := $(shell docker info >/dev/null 2>&1 && command -v kind >/dev/null && echo yes)

images:
	docker build -f Dockerfile.trader -t krakenops-trader:0.1.0 .
	docker build -f Dockerfile.trainer -t krakenops-trainer:0.1.0 .
	docker build -f Dockerfile.operator -t krakenops-operator:0.1.0 .

cluster-up: setup
	CLUSTER_DIR=$(CLUSTER_DIR) tests/cluster/up.sh

cluster-down:
	CLUSTER_DIR=$(CLUSTER_DIR) tests/cluster/down.sh

ifeq ($(KIND_AVAILABLE),yes)
e2e: e2e-kind
else
e2e: e2e-local
endif

e2e-kind: setup images
	@echo "e2e: on kind (docker answers and kind is installed)"
	kind get clusters | grep -qx $(KIND_CLUSTER) || kind create cluster --name $(KIND_CLUSTER)
	kind load docker-image --name $(KIND_CLUSTER) $(IMAGES)
	helm upgrade --install paper helm/krakenops -f helm/krakenops/values-paper.yaml \
		--kube-context kind-$(KIND_CLUSTER) -n $(NAMESPACE) --create-namespace --wait
	helm upgrade --install live helm/krakenops -f helm/krakenops/values-live.yaml \
		--kube-context kind-$(KIND_CLUSTER) -n $(NAMESPACE) --wait
	kubectl --context kind-$(KIND_CLUSTER) -n $(NAMESPACE) get te,mp,deploy,jobs
	KRAKENOPS_E2E_CONTEXT=kind-$(KIND_CLUSTER) KRAKENOPS_E2E_NAMESPACE=$(NAMESPACE) \
		$(BIN)/pytest -m "not local_cluster" tests/e2e

e2e-local: cluster-up
	@echo "e2e: on the local control plane ($(LOCAL_KUBECONFIG))"
	CLUSTER_DIR=$(CLUSTER_DIR) NAMESPACE=$(NAMESPACE) tests/cluster/install.sh
	KRAKENOPS_E2E_KUBECONFIG=$(LOCAL_KUBECONFIG) KRAKENOPS_E2E_NAMESPACE=$(NAMESPACE) \
		KRAKENOPS_E2E_ARTIFACTS=$(CLUSTER_DIR)/artifacts $(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) $(TOOLS) build .mypy_cache .pytest_cache .ruff_cache
