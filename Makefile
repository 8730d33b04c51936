# strata — every target a newcomer or CI needs. `make help` lists them.
GO      ?= go
BIN     := bin
PKGS    := ./...

.PHONY: help run test unit fuzz bench lint build clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

run: ## run strata on the built-in demo (no cluster, no internet)
	$(GO) run ./cmd/strata inspect --demo

test: lint unit ## every test: lint, then unit tests (race detector, fuzz seeds)

unit:
	$(GO) test -race -count=1 $(PKGS)

fuzz: ## run each fuzz target for a while (FUZZTIME=30s)
	$(GO) test ./webhook/images -run XXX -fuzz FuzzParseReference -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./webhook/images -run XXX -fuzz FuzzParseUser -fuzztime $(or $(FUZZTIME),30s)

bench: ## run the benchmarks
	$(GO) test -run XXX -bench . -benchmem $(PKGS)

lint: ## gofmt and go vet
	@out=$$(gofmt -l cmd webhook policies test 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

build: ## build bin/strata
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/strata ./cmd/strata

clean:
	rm -rf $(BIN)
