# strata — every target a newcomer or CI needs. `make help` lists them.
GO      ?= go
BIN     := bin
PKGS    := ./...
REGO    := policies examples/policies

# opa is the version the engine links (read from go.mod), built once into bin/
# under a versioned name, so that a bump in go.mod rebuilds it; bin/opa links
# to it. regal, the Rego linter, is not used: the Go module proxy refuses it
# (403 for github.com/open-policy-agent/regal and github.com/styrainc/regal).
OPA_VERSION := $(shell awk '$$1 == "github.com/open-policy-agent/opa" {print $$2}' go.mod)
OPA         := $(BIN)/opa-$(OPA_VERSION)

# staticcheck (unused code, deprecated APIs, bugs go vet does not look for),
# over every build tag the tests use, built once into bin/ like opa.
STATICCHECK_VERSION := v0.8.2
STATICCHECK         := $(BIN)/staticcheck-$(STATICCHECK_VERSION)
BUILD_TAGS          := e2e,loadtest,browser

# The real binaries the end-to-end and chart tests run, built from the Go module
# proxy by the tools module test/tools (its go.mod says which versions and why)
# into test/tools/bin/, which envtest is pointed at. The first build takes about
# 8 minutes on 2 cores; later ones come from Go's build cache. Each binary is a
# file target that rebuilds when test/tools/go.mod or go.sum changes. The -X
# flags stamp the versions a release build would (without them kube-apiserver
# says v0.0.0-master and helm v4.3).
TOOLS        := test/tools
TOOLS_BIN    := $(TOOLS)/bin
TOOLS_DEPS   := $(TOOLS)/go.mod $(TOOLS)/go.sum
TOOLS_BUILD  := cd $(TOOLS) && CGO_ENABLED=0 $(GO) build -trimpath
K8S_VERSION  := $(shell awk '$$1 == "k8s.io/kubernetes" {print $$2}' $(TOOLS)/go.mod)
HELM_VERSION := $(shell awk '$$1 == "helm.sh/helm/v4" {print $$2}' $(TOOLS)/go.mod)
K8S_MINOR    := $(word 2,$(subst ., ,$(K8S_VERSION)))
K8S_LDFLAGS  := -s -w $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=$(K8S_MINOR) -X $(p).gitTreeState=clean)

.PHONY: help run test unit fuzz bench bench-load bench-apiserver bench-audit lint build clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

# The demo's graph is written to a temporary directory first, its path
# printed, so that the picture is one click away; serve then draws what it
# reviews at /graph.
run: ## serve the webhook on the built-in demo (no cluster, no internet), after writing the demo's graph.html; Ctrl-C stops it
	$(GO) run ./cmd/strata inspect --demo
	@tmp=$$(mktemp -d) && $(GO) run ./cmd/strata graph --demo -o html > $$tmp/graph.html && \
		echo && echo "The demo's graph (bases, images, workloads; open it in a browser): file://$$tmp/graph.html" && echo
	$(GO) run ./cmd/strata serve --dev --demo --graph

test: lint unit e2e browser ## every test: lint; unit tests (race detector, fuzz seeds, the chart with the real helm); end to end; the graph page in chromium

# The chart's render tests run the real helm, built by `make tools`; the
# mTLS page's test runs its openssl commands.
unit: $(TOOLS_BIN)/helm
	command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }
	$(GO) test -race -count=1 $(PKGS)

fuzz: ## run each fuzz target for a while (FUZZTIME=30s)
	$(GO) test ./webhook/images -run XXX -fuzz FuzzParseReference -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./webhook/images -run XXX -fuzz FuzzParseUser -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./webhook/images -run XXX -fuzz FuzzPlatformSelection -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./webhook/workload -run XXX -fuzz FuzzDecode -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./webhook -run XXX -fuzz FuzzReviewReadAgreesWithControllerRuntime -fuzztime $(or $(FUZZTIME),30s)

bench: ## run the benchmarks
	$(GO) test -run XXX -bench . -benchmem $(PKGS)

bench-load: ## load-test strata serve against the no-op floor, warm and cold (under 2 minutes; test/bench/README.md)
	GO=$(GO) $(GO) test -tags loadtest -run 'TestLoad$$' -count=1 -v -timeout 15m ./test/bench

bench-apiserver: $(TOOLS_BIN)/kube-apiserver $(TOOLS_BIN)/etcd ## dry-run creates through a real kube-apiserver: no webhook, the no-op, strata enforce, audit, and enforce with the pin (test/bench/README.md)
	GO=$(GO) $(GO) test -tags loadtest -run 'TestAPIServer$$' -count=1 -v -timeout 15m ./test/bench

bench-audit: $(TOOLS_BIN)/kube-apiserver $(TOOLS_BIN)/etcd $(TOOLS_BIN)/kubectl ## strata audit's steps on 10,000 pods under 2,000 workloads in a real kube-apiserver, 1,000 images (test/bench/README.md)
	GO=$(GO) $(GO) test -tags loadtest -run 'TestAudit$$' -count=1 -v -timeout 30m ./test/bench

# The whole input schema file is given to opa check, so it types input in every
# module without a METADATA schemas entry (schema.input would only exist with a
# directory of schemas, and policies/ also holds the .rego files).
lint: $(OPA) $(STATICCHECK) ## gofmt, go vet, staticcheck; opa fmt, check (strict, against the input schema) and test
	@out=$$(gofmt -l cmd webhook policies charts test 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(BUILD_TAGS) $(PKGS)
	$(STATICCHECK) -tags $(BUILD_TAGS) $(PKGS)
	@out=$$($(OPA) fmt --list --fail $(REGO)) || { echo "opa fmt needed (run $(BIN)/opa fmt -w $(REGO)):"; echo "$$out"; exit 1; }
	$(OPA) check --strict --schema policies/input.schema.json $(REGO)
	$(OPA) test $(REGO)

$(OPA):
	GOBIN=$(abspath $(BIN))/.opa $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)
	mv $(BIN)/.opa/opa $@ && rmdir $(BIN)/.opa
	ln -sf $(notdir $@) $(BIN)/opa

$(STATICCHECK):
	GOBIN=$(abspath $(BIN))/.staticcheck $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/.staticcheck/staticcheck $@ && rmdir $(BIN)/.staticcheck

build: ## build bin/strata
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/strata ./cmd/strata

clean:
	rm -rf $(BIN)

.PHONY: tools e2e-deps

tools: $(TOOLS_BIN)/kube-apiserver $(TOOLS_BIN)/kubectl $(TOOLS_BIN)/etcd $(TOOLS_BIN)/helm ## build kube-apiserver, kubectl, etcd, helm into test/tools/bin

$(TOOLS_BIN)/kube-apiserver: $(TOOLS_DEPS)
	$(TOOLS_BUILD) -ldflags '$(K8S_LDFLAGS)' -o bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver

$(TOOLS_BIN)/kubectl: $(TOOLS_DEPS)
	$(TOOLS_BUILD) -ldflags '$(K8S_LDFLAGS)' -o bin/kubectl k8s.io/kubernetes/cmd/kubectl

$(TOOLS_BIN)/etcd: $(TOOLS_DEPS)
	$(TOOLS_BUILD) -ldflags '-s -w' -o bin/etcd go.etcd.io/etcd/server/v3

$(TOOLS_BIN)/helm: $(TOOLS_DEPS)
	$(TOOLS_BUILD) -ldflags '-s -w -X helm.sh/helm/v4/internal/version.version=$(HELM_VERSION)' -o bin/helm helm.sh/helm/v4/cmd/helm

# Debian's docker-registry (the CNCF distribution registry, binary
# /usr/bin/docker-registry) serves images on loopback in the end-to-end tests.
e2e-deps: tools ## install what the end-to-end tests need: the tools above and docker-registry
	command -v docker-registry >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-registry; }

# The end-to-end suite (test/e2e): the strata binary behind a real
# kube-apiserver, driven by the real kubectl, against two docker-registry
# instances over TLS (one with htpasswd auth). It fails, never skips, when a
# component is missing.
.PHONY: e2e
e2e: build e2e-deps ## end-to-end tests: strata behind a real kube-apiserver, kubectl and docker-registry (~20 s)
	STRATA_BIN=$(abspath $(BIN))/strata $(GO) test -tags e2e -count=1 -timeout 20m ./test/e2e/...

# The chart: helm lint (strict) with the defaults and each ci/*-values.yaml,
# then its render tests (real helm, values schema, the webhook configuration).
.PHONY: chart-lint
chart-lint: $(TOOLS_BIN)/helm ## lint the Helm chart and run its render tests
	$(TOOLS_BIN)/helm lint --strict charts/strata
	@for f in charts/strata/ci/*-values.yaml; do echo "helm lint --strict -f $$f"; $(TOOLS_BIN)/helm lint --quiet --strict charts/strata -f $$f || exit 1; done
	$(GO) test -count=1 ./charts/...

# The graph page (strata graph -o html, strata serve --graph) in a real
# browser: Debian's chromium, headless, driven from Go by chromedp
# (test/browser). Screenshots and the pages tested are kept in
# test-artifacts/. The tests fail, never skip, when chromium is missing.
.PHONY: browser browser-deps
BROWSER_ARTIFACTS ?= $(abspath test-artifacts)

browser-deps: ## install what the browser tests need: Debian's chromium
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

browser: build browser-deps ## the graph page in headless chromium: drawn, clicked, searched, offline; over HTTP from strata serve --graph
	mkdir -p $(BROWSER_ARTIFACTS)
	STRATA_BIN=$(abspath $(BIN))/strata $(GO) test -tags browser -count=1 -timeout 15m -v -artifacts -outputdir $(BROWSER_ARTIFACTS) ./test/browser/...
