# Every check CI runs. `make test` is the one command that runs them all;
# the targets below run one part each.

GO       ?= go
FUZZTIME ?= 100000x

.PHONY: test deps fmt vet unit oldest-go fuzz bench-module e2e

test: deps fmt vet unit oldest-go fuzz bench-module e2e

# Chromium, the browser tests' npm packages and the Go modules, if missing.
deps:
	bash .ci/deps

# gofmt must have nothing to say.
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

# Unit tests, the protocol conformance suite and the examples, race-checked.
unit:
	$(GO) test -race -count=1 -timeout 10m ./...

# go.mod declares the oldest Go the module needs (its dependencies need
# 1.26.0 too): the library builds and passes its tests on that toolchain,
# which the go command fetches through the module proxy.
OLDEST_GO ?= go1.26.0
oldest-go:
	GOTOOLCHAIN=$(OLDEST_GO) $(GO) vet ./...
	GOTOOLCHAIN=$(OLDEST_GO) $(GO) test -count=1 -timeout 10m ./sockjs/... ./session/... ./transports/... ./info/... ./internal/...

# Each fuzzer runs briefly from its committed seed corpus.
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash .ci/fuzz

# The benchmark module (peers and comparison) must build and pass its tests.
bench-module:
	cd bench && $(GO) test -count=1 ./...

# Real-browser tests (Chromium through playwright-core).
e2e:
	bash web/e2e/run.sh
