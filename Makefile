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

.PHONY: help run test unit fuzz bench lint build clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

run: ## serve the webhook on the built-in demo (no cluster, no internet); Ctrl-C stops it
	$(GO) run ./cmd/strata inspect --demo
	$(GO) run ./cmd/strata serve --dev --demo

test: lint unit ## every test: lint, then unit tests (race detector, fuzz seeds)

unit:
	$(GO) test -race -count=1 $(PKGS)

fuzz: ## run each fuzz target for a while (FUZZTIME=30s)
	$(GO) test ./webhook/images -run XXX -fuzz FuzzParseReference -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./webhook/images -run XXX -fuzz FuzzParseUser -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./webhook/workload -run XXX -fuzz FuzzDecode -fuzztime $(or $(FUZZTIME),30s)

bench: ## run the benchmarks
	$(GO) test -run XXX -bench . -benchmem $(PKGS)

# The whole input schema file is given to opa check, so it types input in every
# module without a METADATA schemas entry (schema.input would only exist with a
# directory of schemas, and policies/ also holds the .rego files).
lint: $(OPA) ## gofmt, go vet; opa fmt, check (strict, against the input schema) and test
	@out=$$(gofmt -l cmd webhook policies test 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@out=$$($(OPA) fmt --list --fail $(REGO)) || { echo "opa fmt needed (run $(BIN)/opa fmt -w $(REGO)):"; echo "$$out"; exit 1; }
	$(OPA) check --strict --schema policies/input.schema.json $(REGO)
	$(OPA) test $(REGO)

$(OPA):
	GOBIN=$(abspath $(BIN))/.opa $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)
	mv $(BIN)/.opa/opa $@ && rmdir $(BIN)/.opa
	ln -sf $(notdir $@) $(BIN)/opa

build: ## build bin/strata
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/strata ./cmd/strata

clean:
	rm -rf $(BIN)
