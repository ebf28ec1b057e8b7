# kubectl-shipjob — see README.md. `make demo` and `make test` are all a new
# machine needs: everything else is built from the Go module proxy into
# $(CACHE) (git-ignored) on first use.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

K8S_VERSION  := v1.37.2
KWOK_VERSION := v0.8.0
HELM3_VERSION := v3.22.0
HELM4_VERSION := v4.3.1
KREW_VERSION := v0.4.3

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CACHE   ?= $(CURDIR)/.cache
GOMODCACHE := $(shell go env GOMODCACHE)

BIN         := $(CURDIR)/bin/kubectl-shipjob
CLUSTER_BIN := $(CACHE)/cluster-bin/k8s-$(K8S_VERSION)_kwok-$(KWOK_VERSION)
TOOLS_BIN   := $(CACHE)/tools
HELM3       := $(TOOLS_BIN)/helm-$(HELM3_VERSION)/helm
HELM4       := $(TOOLS_BIN)/helm-$(HELM4_VERSION)/helm
KREW        := $(TOOLS_BIN)/krew-$(KREW_VERSION)/krew
KREW_VALIDATE := $(TOOLS_BIN)/krew-$(KREW_VERSION)/validate-krew-manifest
CLUSTER_STATE := $(CACHE)/cluster-state

PKG := github.com/shipjob/kubectl-shipjob
LDFLAGS := -s -w -X $(PKG)/plugin/version.version=$(VERSION) -X $(PKG)/plugin/version.commit=$(COMMIT)
K8S_LDFLAGS := -s -w $(foreach kv,gitVersion=$(K8S_VERSION) gitMajor=1 gitMinor=37 gitTreeState=clean buildDate=2026-01-01T00:00:00Z,-X k8s.io/component-base/version.$(kv))

# Passed to the e2e test binary: where the cluster daemons and tools are.
export SHIPJOB_CLUSTER_BIN := $(CLUSTER_BIN)
export SHIPJOB_HELM3 := $(HELM3)
export SHIPJOB_HELM4 := $(HELM4)
export SHIPJOB_KREW := $(KREW)
export SHIPJOB_KREW_VALIDATE := $(KREW_VALIDATE)

.PHONY: build
build: ## Build bin/kubectl-shipjob
	go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-shipjob

.PHONY: test
test: lint unit e2e ## Everything CI runs: lint, unit and e2e tests on the real local cluster

.PHONY: unit
unit: ## Unit tests (no cluster)
	go test -count=1 $$(go list ./... | grep -v /test/)

.PHONY: e2e
e2e: cluster-bins tools build ## End-to-end tests against a fresh local cluster
	go test -count=1 -timeout 40m ./test/...

.PHONY: lint
lint: ## gofmt check and go vet
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	  if [[ -n "$$bad" ]]; then echo "gofmt needed: $$bad"; exit 1; fi
	go vet ./...
	cd test/tools && go vet -tags tools . 2>/dev/null || true

.PHONY: cluster-bins
cluster-bins: $(CLUSTER_BIN)/kube-apiserver $(CLUSTER_BIN)/etcd $(CLUSTER_BIN)/kwok ## Build etcd, Kubernetes and KWOK (once per version)

$(CLUSTER_BIN)/kube-apiserver:
	@echo ">> building Kubernetes $(K8S_VERSION) control plane from source (first run only, ~7 min on 2 cores)"
	cd test/tools && go build -trimpath -ldflags '$(K8S_LDFLAGS)' -o $(CLUSTER_BIN)/ \
	  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler

$(CLUSTER_BIN)/etcd:
	cd test/tools && go build -trimpath -ldflags '-s -w' -o $@ go.etcd.io/etcd/server/v3

$(CLUSTER_BIN)/kwok:
	@echo ">> building KWOK $(KWOK_VERSION) (first run only, ~2 min)"
	GOBIN=$(CLUSTER_BIN) go install -trimpath -ldflags '-s -w' sigs.k8s.io/kwok/cmd/kwok@$(KWOK_VERSION)
	cp $(GOMODCACHE)/sigs.k8s.io/kwok@$(KWOK_VERSION)/kustomize/crd/bases/kwok.x-k8s.io_logs.yaml $(CLUSTER_BIN)/
	chmod 644 $(CLUSTER_BIN)/kwok.x-k8s.io_logs.yaml

.PHONY: kubectl
kubectl: $(CACHE)/kubectl-bin/kubectl ## Build kubectl $(K8S_VERSION) into the cache (CI on machines without one)
$(CACHE)/kubectl-bin/kubectl:
	cd test/tools && go build -trimpath -ldflags '$(K8S_LDFLAGS)' -o $@ k8s.io/kubernetes/cmd/kubectl

.PHONY: tools
tools: $(HELM3) $(HELM4) $(KREW) $(KREW_VALIDATE) ## helm v3 + v4, krew, validate-krew-manifest (test peers)

$(HELM3):
	GOBIN=$(dir $@) go install -trimpath -ldflags '-s -w' helm.sh/helm/v3/cmd/helm@$(HELM3_VERSION)
$(HELM4):
	GOBIN=$(dir $@) go install -trimpath -ldflags '-s -w' helm.sh/helm/v4/cmd/helm@$(HELM4_VERSION)
$(KREW):
	GOBIN=$(dir $@) go install -trimpath -ldflags '-s -w' sigs.k8s.io/krew/cmd/krew@$(KREW_VERSION)
$(KREW_VALIDATE):
	GOBIN=$(dir $@) go install -trimpath -ldflags '-s -w' sigs.k8s.io/krew/cmd/validate-krew-manifest@$(KREW_VERSION)

.PHONY: cluster-up
cluster-up: cluster-bins build ## Start a local cluster in the background; prints the KUBECONFIG export
	@go run ./test/cluster/cmd/localcluster up --bin $(CLUSTER_BIN) --state $(CLUSTER_STATE)

.PHONY: cluster-down
cluster-down: ## Stop the cluster started by cluster-up
	@go run ./test/cluster/cmd/localcluster down --state $(CLUSTER_STATE)

.PHONY: demo
demo: cluster-bins build ## Build, start the local cluster and run the main job end to end
	@PATH="$(dir $(BIN)):$$PATH" CLUSTER_BIN=$(CLUSTER_BIN) CLUSTER_STATE=$(CLUSTER_STATE) ./test/demo.sh

.PHONY: bench
bench: cluster-bins build ## Benchmarks (results go to BENCHMARKS.md by hand)
	go test -run '^$$' -bench . -benchmem $$(go list ./... | grep -v /test/)
	./test/bench/startup.sh $(BIN)

.PHONY: clean
clean:
	rm -rf bin dist

.PHONY: help
help:
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
