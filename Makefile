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
DISTPACK      := $(TOOLS_BIN)/distpack
CLUSTER_STATE := $(CACHE)/cluster-state

PKG := github.com/shipjob/kubectl-shipjob
LDFLAGS := -s -w -X $(PKG)/plugin/version.version=$(VERSION) -X $(PKG)/plugin/version.commit=$(COMMIT)
# Release builds (`make dist`): Krew wants a semver with a v prefix, so a
# version from `git describe` without a tag becomes v0.0.0-<describe>.
DIST_VERSION   := $(if $(filter v%,$(VERSION)),$(VERSION),v0.0.0-$(VERSION))
DIST_DIR       ?= dist
DIST_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
RELEASE_URL    ?= https://github.com/shipjob/kubectl-shipjob/releases/download/$(DIST_VERSION)/
KREW_MANIFEST  ?= krew/shipjob.yaml
# Full install check of every platform after `make dist` (empty: skip).
DIST_VALIDATE  ?= 1
DIST_LDFLAGS   := -s -w -X $(PKG)/plugin/version.version=$(DIST_VERSION) -X $(PKG)/plugin/version.commit=$(COMMIT)
# Go builds of release binaries; the bench and `make size` build the same.
# Generated Kubernetes API code the plugin links but never runs on a hot path
# (every API group's types except core/v1 and batch/v1, the typed clients,
# apply configurations, informers and listers, the CRD types Helm links) is
# compiled without inlining: 2.1 MB smaller, same speed where it matters
# (BENCHMARKS.md, "Binary size"). So are the hook server's Prometheus
# metrics and the web UI's html/template (49 KB; neither is on a hot path:
# a counter increment, a page render). So is code that is linked but only
# runs at package initialization or for features the plugin never uses
# (DIST_COLD_GCFLAGS, 1.3 MB: OpenAPI documents and the protobuf runtime
# they and the metrics encode with, kustomize (cli-runtime's -k), the SQL
# storage driver, CBOR, the structured-merge-diff JSON library, OCI
# references, i18n). Since issue 22 also: what runs once per process or
# never on a trigger (kubeconfig loading, discovery, Helm's registry, repo,
# lint, plugin and provenance code with its OpenPGP, patch libraries a
# trigger never uses (its Update is a Create), cobra/pflag, the console's
# sign-in) and our own packages that render pages, build commands or end
# runs: 370 KB, which pays for the console's OpenID Connect libraries.
# Since issue 23 (second session) also client-go's informer caches and
# work queues (the long-running server's, per watch event, never a
# trigger's): 8 KB, which pays for reading only what a page shows. Since
# issue 23 (third session) also output formatting (printers, jsonpath: once
# per command), golang.org/x/crypto (sprig's and OpenPGP's, never on a
# trigger) and the hook tokens' package: 24 KB, which pays for the run-end
# leader's caches of definitions and signing secrets. And Helm's actions,
# release storage and values code (glue run once per trigger, each call
# far from a loop) and x/net's IDNA: 28 KB, which pays for writing release
# records ourselves and answering Helm's existence check of a run's Job.
# Since issue 23 (fourth session) also cli-runtime's kubectl flags (read
# once per process): 4 KB, which pays for the trigger's overlapped round
# trips and the repeatable flags' own values.
# DIST_GOFLAGS= builds without.
DIST_COLD_GCFLAGS := github.com/google/gnostic-models/...=-l google.golang.org/protobuf/...=-l \
                    k8s.io/kube-openapi/...=-l github.com/go-openapi/...=-l \
                    k8s.io/client-go/openapi/...=-l k8s.io/client-go/openapi3/...=-l \
                    sigs.k8s.io/kustomize/...=-l github.com/xlab/...=-l github.com/monochromegane/...=-l \
                    github.com/lib/pq/...=-l github.com/Masterminds/squirrel/...=-l github.com/lann/...=-l \
                    github.com/jmoiron/...=-l github.com/go-gorp/...=-l github.com/rubenv/...=-l \
                    database/sql=-l database/sql/driver=-l \
                    github.com/fxamacker/cbor/...=-l github.com/json-iterator/go=-l github.com/BurntSushi/toml/...=-l \
                    github.com/davecgh/...=-l github.com/pmezard/...=-l github.com/gobwas/...=-l \
                    github.com/opencontainers/...=-l github.com/distribution/...=-l \
                    github.com/chai2010/...=-l golang.org/x/text/...=-l github.com/gosuri/...=-l \
                    github.com/asaskevich/...=-l github.com/exponent-io/...=-l github.com/emicklei/...=-l \
                    encoding/xml=-l archive/zip=-l image/...=-l \
                    github.com/go-jose/...=-l github.com/coreos/go-oidc/...=-l golang.org/x/oauth2/...=-l \
                    oras.land/...=-l github.com/ProtonMail/...=-l github.com/cloudflare/...=-l \
                    github.com/santhosh-tekuri/...=-l github.com/Masterminds/...=-l github.com/huandu/...=-l \
                    github.com/shopspring/...=-l github.com/spf13/cast=-l github.com/russross/...=-l \
                    github.com/cpuguy83/...=-l github.com/mitchellh/...=-l dario.cat/...=-l github.com/peterbourgon/...=-l \
                    k8s.io/kubectl/...=-l helm.sh/helm/v3/pkg/lint/...=-l helm.sh/helm/v3/pkg/registry/...=-l \
                    helm.sh/helm/v3/pkg/repo/...=-l helm.sh/helm/v3/pkg/downloader/...=-l helm.sh/helm/v3/pkg/getter/...=-l \
                    helm.sh/helm/v3/pkg/plugin/...=-l helm.sh/helm/v3/pkg/pusher/...=-l helm.sh/helm/v3/pkg/uploader/...=-l \
                    helm.sh/helm/v3/pkg/provenance/...=-l helm.sh/helm/v3/internal/resolver/...=-l \
                    github.com/spf13/...=-l github.com/fatih/...=-l github.com/mattn/...=-l github.com/moby/...=-l \
                    k8s.io/cli-runtime/pkg/resource=-l k8s.io/client-go/discovery/...=-l k8s.io/client-go/restmapper=-l \
                    k8s.io/klog/...=-l github.com/evanphx/...=-l gopkg.in/evanphx/...=-l sigs.k8s.io/structured-merge-diff/...=-l \
                    k8s.io/apimachinery/pkg/util/strategicpatch=-l k8s.io/apimachinery/pkg/util/mergepatch=-l \
                    k8s.io/apimachinery/pkg/util/jsonmergepatch=-l k8s.io/apimachinery/pkg/util/managedfields/...=-l \
                    helm.sh/helm/v3/pkg/chart/loader=-l helm.sh/helm/v3/internal/third_party/...=-l \
                    k8s.io/client-go/tools/clientcmd/...=-l k8s.io/client-go/tools/auth=-l k8s.io/client-go/tools/reference=-l \
                    k8s.io/client-go/tools/leaderelection/...=-l k8s.io/client-go/tools/cache/...=-l k8s.io/client-go/util/workqueue=-l \
                    k8s.io/client-go/util/jsonpath=-l k8s.io/cli-runtime/pkg/printers=-l golang.org/x/crypto/...=-l \
                    helm.sh/helm/v3/pkg/action=-l helm.sh/helm/v3/pkg/storage/...=-l helm.sh/helm/v3/pkg/chartutil=-l golang.org/x/net/idna=-l \
                    archive/tar=-l net/http/httputil=-l helm.sh/helm/v3/pkg/cli=-l \
                    gopkg.in/yaml.v3=-l $(PKG)/plugin/console=-l $(PKG)/plugin/commands=-l $(PKG)/plugin/ui=-l \
                    $(PKG)/plugin/schedule=-l $(PKG)/plugin/notify=-l $(PKG)/plugin/runend=-l $(PKG)/plugin/hookserver=-l \
                    $(PKG)/plugin/hook=-l k8s.io/cli-runtime/pkg/genericclioptions=-l
DIST_GCFLAGS   := $(foreach p,k8s.io/api/...=-l k8s.io/api/core/v1= k8s.io/api/batch/v1= \
                    k8s.io/client-go/applyconfigurations/...=-l k8s.io/client-go/kubernetes/...=-l \
                    k8s.io/client-go/informers/...=-l k8s.io/client-go/listers/...=-l \
                    k8s.io/apiextensions-apiserver/...=-l \
                    github.com/prometheus/...=-l html/template=-l $(DIST_COLD_GCFLAGS),-gcflags=$(p))
DIST_GOFLAGS   ?= $(DIST_GCFLAGS)
# `make size` fails when the release binary (linux/amd64) outgrows this:
# kubectl's own size, issue 7.
SIZE_BUDGET    ?= 57000000
DIST_GOBUILD   := CGO_ENABLED=0 go build -trimpath $(DIST_GOFLAGS)
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
test: lint unit fuzz size e2e ## Everything CI runs: lint, unit tests (race detector), fuzzing, e2e tests on the real local cluster

.PHONY: unit
unit: ## Unit tests (no cluster), under the race detector
	go test -race -count=1 $$(go list ./... | grep -v /test/)

# Fuzz targets, each run for FUZZTIME by `make test` (the seed corpus and
# testdata/fuzz run with the unit tests too). A failing input is saved
# under the package's testdata/fuzz: commit it with the fix. Minimizing a
# failing input is bounded by FUZZMINTIME, so a crash is reported in
# seconds, not after minutes of shrinking on a shared CI core.
FUZZ_TARGETS := ./postrender:FuzzProcess ./plugin/hookserver:FuzzParseTriggerBody \
                ./plugin/jobdef:FuzzFromSecret ./plugin/ui:FuzzJobForm ./plugin/ui:FuzzRunForm
FUZZTIME ?= 20s
FUZZMINTIME ?= 2s
.PHONY: fuzz
# A run that fails only with "context deadline exceeded" and writes no
# failing input is Go's own race at the end of -fuzztime (go1.26; fixed in
# Go 1.27, golang/go#75804), not a finding; anything else fails.
fuzz: ## Run every fuzz target for FUZZTIME (default 20s)
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; dir=$$pkg/testdata/fuzz/$$fn; \
	  echo ">> fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
	  before=$$( (ls $$dir 2>/dev/null || true) | wc -l); out=$$(mktemp); \
	  if go test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg 2>&1 | tee $$out; then \
	    rm -f $$out; continue; \
	  fi; \
	  after=$$( (ls $$dir 2>/dev/null || true) | wc -l); \
	  if [ "$$after" = "$$before" ] && grep -qx '    context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out; then \
	    echo ">> $$fn: Go's fuzz coordinator lost the race with its own -fuzztime deadline, no failing input (golang/go#75804, fixed in Go 1.27): not a failure"; \
	    rm -f $$out; continue; \
	  fi; \
	  rm -f $$out; exit 1; \
	done

.PHONY: e2e
e2e: cluster-bins tools build ## End-to-end tests against a fresh local cluster
	go test -count=1 -timeout 40m ./test/...

.PHONY: chaos
chaos: cluster-bins build ## Fault tests (kube-apiserver killed, etcd paused, leader killed, watch expiry) on a cluster of their own
	go test -count=1 -tags chaos -timeout 20m -run '^TestChaos' -v ./test/e2e

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
	$(MAKE) -s bench-startup
	$(MAKE) -s bench-runs
	$(MAKE) -s bench-postrender
	$(MAKE) -s bench-decode

# Size and start-up of the release binary (linux/amd64, as `make dist` builds
# it) side by side with kubectl; prints the BENCHMARKS.md section.
BENCH_DIR := $(CACHE)/bench
.PHONY: bench-startup
bench-startup: ## Binary size, start-up time and peak RSS vs kubectl
	mkdir -p $(BENCH_DIR)
	GOOS=linux GOARCH=amd64 $(DIST_GOBUILD) -ldflags '$(DIST_LDFLAGS)' -o $(BENCH_DIR)/kubectl-shipjob ./cmd/kubectl-shipjob
	GOOS=linux GOARCH=amd64 $(DIST_GOBUILD) -ldflags '$(subst -s -w ,,$(DIST_LDFLAGS))' -o $(BENCH_DIR)/kubectl-shipjob.unstripped ./cmd/kubectl-shipjob
	go build -o $(BENCH_DIR)/pkgsize ./test/bench/pkgsize
	./test/bench/startup.sh $(BENCH_DIR)/kubectl-shipjob | tee $(BENCH_DIR)/startup.md

.PHONY: release-bin
release-bin: ## One release binary, built as make dist builds it: OUT=path (GOOS/GOARCH from the environment)
	@[[ -n "$(OUT)" ]] || { echo "make release-bin needs OUT=path"; exit 1; }
	$(DIST_GOBUILD) -ldflags '$(DIST_LDFLAGS)' -o $(OUT) ./cmd/kubectl-shipjob

.PHONY: size
size: ## Release binary (linux/amd64, stripped) within SIZE_BUDGET bytes
	mkdir -p $(CACHE)/size
	GOOS=linux GOARCH=amd64 $(DIST_GOBUILD) -ldflags '$(DIST_LDFLAGS)' -o $(CACHE)/size/kubectl-shipjob ./cmd/kubectl-shipjob
	@size=$$(stat -c %s $(CACHE)/size/kubectl-shipjob); \
	  echo "kubectl-shipjob linux/amd64: $$size bytes, budget $(SIZE_BUDGET) ($$(( (size * 1000 / $(SIZE_BUDGET) + 5) / 10 ))%)"; \
	  if (( size > $(SIZE_BUDGET) )); then \
	    echo "over the size budget by $$((size - $(SIZE_BUDGET))) bytes: find out what keeps it with make size-why SYMBOLS='prefix…' (BENCHMARKS.md, Binary size)"; exit 1; fi

.PHONY: size-why
size-why: ## Why the linker keeps SYMBOLS (symbol prefixes) in the release binary
	mkdir -p $(CACHE)/size
	GOOS=linux GOARCH=amd64 $(DIST_GOBUILD) -ldflags '$(DIST_LDFLAGS) -dumpdep' -o $(CACHE)/size/kubectl-shipjob.dumpdep ./cmd/kubectl-shipjob 2> $(CACHE)/size/dumpdep.txt
	go run ./test/bench/linkwhy -dump $(CACHE)/size/dumpdep.txt $(foreach s,$(SYMBOLS),'$(s)')

LIGHTHOUSE_VERSION := 12.2.3
LIGHTHOUSE := $(TOOLS_BIN)/lighthouse-$(LIGHTHOUSE_VERSION)
$(LIGHTHOUSE)/node_modules/.bin/lighthouse:
	mkdir -p $(LIGHTHOUSE) && cd $(LIGHTHOUSE) && echo '{"private":true}' > package.json && npm i -E --no-audit --no-fund lighthouse@$(LIGHTHOUSE_VERSION)

.PHONY: audit-ui
audit-ui: cluster-bins build $(LIGHTHOUSE)/node_modules/.bin/lighthouse ## Lighthouse on every page of the web UI (local cluster; npm, chromium): Markdown table
	$(MAKE) -s cluster-up >/dev/null
	go run ./test/bench/audit -state $(CLUSTER_STATE) -plugin $(BIN) -lighthouse $(LIGHTHOUSE) $(if $(PAGES),-only '$(PAGES)')

.PHONY: bench-decode
bench-decode: ## Hot-path decoding with and without the release compiler flags
	./test/bench/decode.sh $(DIST_GCFLAGS)

.PHONY: dist
dist: $(DISTPACK) $(if $(DIST_VALIDATE),$(KREW) $(KREW_VALIDATE)) ## Release archives ($(DIST_DIR)/), sha256 sums and krew/shipjob.yaml
	rm -rf $(DIST_DIR) && mkdir -p $(DIST_DIR)
	for p in $(DIST_PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=tar.gz; exe=; extra=cmd/kubectl_complete-shipjob; \
	  if [[ $$os == windows ]]; then ext=zip; exe=.exe; extra=; fi; \
	  dir=$(DIST_DIR)/kubectl-shipjob_$(DIST_VERSION)_$${os}_$${arch}; \
	  echo ">> $$os/$$arch"; \
	  GOOS=$$os GOARCH=$$arch $(DIST_GOBUILD) -ldflags '$(DIST_LDFLAGS)' -o $$dir/kubectl-shipjob$$exe ./cmd/kubectl-shipjob; \
	  $(DISTPACK) archive -o $$dir.$$ext $$dir/kubectl-shipjob$$exe LICENSE README.md $$extra; \
	  rm -rf $$dir; \
	done
	cd $(DIST_DIR) && sha256sum kubectl-shipjob_$(DIST_VERSION)_* > kubectl-shipjob_$(DIST_VERSION)_sha256sums.txt
	shopt -s nullglob; $(DISTPACK) manifest -template krew/shipjob.yaml.tmpl -version $(DIST_VERSION) \
	  -url $(RELEASE_URL) -o $(KREW_MANIFEST) $(DIST_DIR)/*.tar.gz $(DIST_DIR)/*.zip
	$(if $(DIST_VALIDATE),$(DISTPACK) validate -manifest $(KREW_MANIFEST) -dir $(DIST_DIR) -url $(RELEASE_URL) \
	  -validator $(KREW_VALIDATE) -krew $(KREW))
	@ls -l $(DIST_DIR)

$(DISTPACK): $(wildcard cmd/distpack/*.go)
	go build -o $@ ./cmd/distpack

.PHONY: docs
docs: ## Command reference docs/commands/*.md from the cobra commands
	go run ./cmd/docgen -dir docs/commands

.PHONY: clean
clean:
	rm -rf bin $(DIST_DIR)

.PHONY: help
help:
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# --- Helm post-renderer (kubectl shipjob postrender) ------------------------
# Helm v4 reads post-renderer plugins from HELM_PLUGINS, which defaults to the
# folder Helm v3 uses too (v3 then warns about the v4 plugin on every
# command): keep the v4 plugin in a folder of its own. Helm v4.3.1 installs a
# local plugin into $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says
# (helm/helm#32646), so both point at the same folder here.
HELM4_DATA    ?= $(CACHE)/helm4-data
HELM4_PLUGINS ?= $(HELM4_DATA)/plugins

.PHONY: helm-plugin
helm-plugin: build $(HELM4) ## Install the Helm v4 post-renderer plugin into $(HELM4_PLUGINS)
	@mkdir -p $(HELM4_PLUGINS)
	@rm -f $(HELM4_PLUGINS)/shipjob-postrender
	HELM_DATA_HOME=$(HELM4_DATA) HELM_PLUGINS=$(HELM4_PLUGINS) $(HELM4) plugin install $(CURDIR)/plugin/helm-plugin/shipjob-postrender
	@HELM_PLUGINS=$(HELM4_PLUGINS) $(HELM4) plugin list
	@echo
	@echo "Use it with Helm v4 only, in the environment of each v4 command (kubectl-shipjob must be on the PATH):"
	@echo "  export PATH=$(patsubst %/,%,$(dir $(BIN))):\$$PATH"
	@echo "  HELM_PLUGINS=$(HELM4_PLUGINS) helm upgrade --install REL CHART \\"
	@echo "    --post-renderer shipjob-postrender --post-renderer-args=--ttl=336h"
	@echo "or: alias helm4='HELM_PLUGINS=$(HELM4_PLUGINS) helm'"

.PHONY: bench-postrender
# The release build, copied the way krew and tar install it (a binary fresh
# from the linker has 30 MiB more RSS: BENCHMARKS.md, method note).
bench-postrender: ## Post-renderer vs kubectl kustomize as post-renderer, side by side (copy into BENCHMARKS.md)
	mkdir -p $(BENCH_DIR)/installed
	$(DIST_GOBUILD) -ldflags '$(DIST_LDFLAGS)' -o $(BENCH_DIR)/kubectl-shipjob.native ./cmd/kubectl-shipjob
	cp $(BENCH_DIR)/kubectl-shipjob.native $(BENCH_DIR)/installed/kubectl-shipjob
	go run ./test/bench/postrender -plugin $(BENCH_DIR)/installed/kubectl-shipjob

# Scale (issue 23), at SCALE_N and SCALE_N/10 on the local cluster (a few
# minutes on 2 cores): `list` and the UI's Jobs page over SCALE_N job
# definitions; trigger and `runs` of a job keeping SCALE_RUNS kept runs
# against a job with none; `hooks serve` over SCALE_N hooks.
SCALE_N    ?= 10000
SCALE_RUNS ?= 5000
.PHONY: bench-scale
bench-scale: cluster-bins build ## Scale: list, Jobs page, runs and trigger with kept runs, hooks serve, at N and N/10 (local cluster)
	$(MAKE) -s cluster-up >/dev/null
	@for f in 10 1; do \
	  n=$$(( $(SCALE_N) / f )); r=$$(( $(SCALE_RUNS) / f )); \
	  echo ">> $$n definitions, $$r kept runs, $$n hooks"; \
	  go run ./test/bench/runbench -state $(CLUSTER_STATE) -plugin $(BIN) -jobs $$n -n 5 || exit 1; \
	  go run ./test/bench/uibench -state $(CLUSTER_STATE) -plugin $(BIN) -jobs $$n -runs 1 -n 5 -changes 2 || exit 1; \
	  go run ./test/bench/scale -state $(CLUSTER_STATE) -plugin $(BIN) -runs $$r -hooks $$n -n 5 || exit 1; \
	done

.PHONY: bench-runs
bench-runs: cluster-bins build ## Trigger vs kubectl create job, list over 1,000 jobs, runs over 10,000 runs (local cluster)
	$(MAKE) -s cluster-up >/dev/null
	go run ./test/bench/runbench -state $(CLUSTER_STATE) -plugin $(BIN) -n 15
	go run ./test/bench/runbench -state $(CLUSTER_STATE) -plugin $(BIN) -jobs 1000 -n 7
	go run ./test/bench/runbench -state $(CLUSTER_STATE) -plugin $(BIN) -history 10000 -n 5

# Hook server throughput (issue 23): 10 clients POST deploy hook triggers to
# two `hooks serve` replicas, then the same clients POST raw batch/v1 Jobs to
# the API server, alternating (triggers, raw, triggers, raw); then a trigger
# phase on a `-tags profile` build with a CPU and a block profile of one
# replica. 5–8 minutes on 2 cores.
HOOKLOAD_DURATION ?= 20s
.PHONY: bench-hooks
bench-hooks: cluster-bins build ## Hook triggers vs raw Job creates from the same clients, with server profiles (local cluster)
	$(MAKE) -s cluster-up >/dev/null
	go run ./test/bench/hookload -state $(CLUSTER_STATE) -plugin $(BIN) -duration $(HOOKLOAD_DURATION)

# Soak (issue 23): one `hooks serve` over SOAK_NAMESPACES namespaces holding
# SOAK_RUNS processed runs, SOAK_RATE run ends a second spread over them for
# SOAK_DURATION; creating the world takes about 15 minutes more on 2 cores.
# Results (Markdown) on stdout, a row a minute on stderr.
SOAK_NAMESPACES ?= 100
SOAK_RUNS       ?= 50000
SOAK_RATE       ?= 50
SOAK_DURATION   ?= 30m
.PHONY: bench-soak
bench-soak: cluster-bins build ## Soak: run ends at a steady rate through one hooks serve over many namespaces; latency, lost/dup notifications, RSS and goroutines a minute (local cluster)
	$(MAKE) -s cluster-up >/dev/null
	go run ./test/bench/soak -state $(CLUSTER_STATE) -plugin $(BIN) -namespaces $(SOAK_NAMESPACES) -runs $(SOAK_RUNS) \
	  -rate $(SOAK_RATE) -duration $(SOAK_DURATION)
