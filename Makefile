# visor-ng: make targets for everything a person does. `make help` lists them.
GO        ?= go
BIN       := bin
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.Version=$(VERSION)
SAMPLE    ?= test/testdata/sample.pcap
IFACE     ?= auto

.PHONY: help build test test-unit test-deps bench bench-capture lint generate generate-check goldens run run-reader fuzz clean

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build static binaries into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

test-deps: ## install the independent tools the tests compare against (Debian, needs root)
	@./test/install-deps.sh

test: test-deps ## install test tools, then run the whole suite (privileged tests skip when not root)
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(MAKE) --no-print-directory generate-check
	CGO_ENABLED=0 $(GO) build $(PKGS)
	GOOS=darwin $(GO) vet ./agent/... ./decode/... ./sketches/... ./cmd/pktvisor-reader/ >/dev/null
	$(GO) test -count=1 -timeout 30m $(PKGS)
	$(GO) test -count=1 -tags libpcap ./agent/capture/libpcap/
	@$(GO) test -count=1 -run '^$$' -bench . -benchtime=1x $(PKGS) > bench-smoke.log 2>&1 || { cat bench-smoke.log; exit 1; }
	@echo "benchmarks: each ran once, all passed (output in bench-smoke.log)"

test-unit: ## run the Go tests only, without installing anything
	$(GO) test -count=1 $(PKGS)

bench: ## run the micro-benchmarks and the reader-vs-tcpdump/tshark throughput comparison
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	VISOR_BENCH_RATIO=1 $(GO) test -count=1 -run TestPipelineVsGoflow2 -v ./agent/handler/flowhandler/
	./test/bench-reader.sh

fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@./test/fuzz-all.sh $${FUZZTIME:-20s}

lint: ## go vet + staticcheck
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

generate: ## rebuild generated code (bpf2go objects; installs clang if missing)
	@command -v clang >/dev/null || (apt-get update -qq && apt-get install -y -qq clang llvm libbpf-dev)
	$(GO) generate ./bpf/...

generate-check: ## fail when the committed bpf2go output differs from what the C sources build to
	@if command -v clang >/dev/null; then \
		$(GO) generate ./bpf/... && git diff --exit-code --stat -- bpf/ ; \
	else echo "generate-check: clang not installed; skipping the regeneration check" >&2; fi

goldens: ## re-derive the expected values in test/testdata/golden with tshark
	./test/truth/make-goldens.sh

run-reader: build ## summarise the shipped sample capture with pktvisor-reader
	$(BIN)/pktvisor-reader --periods 1 $(SAMPLE)

run: build ## run the agent: as root on the busiest interface (IFACE=auto); otherwise replaying the sample capture
	@if [ "$$(id -u)" = 0 ]; then \
		echo "pktvisord on $(IFACE): REST on http://localhost:10853, Prometheus on /metrics; Ctrl-C stops it"; \
		$(BIN)/pktvisord $(IFACE); \
	else \
		echo "not root: replaying $(SAMPLE) (REST on http://localhost:10853); Ctrl-C stops it"; \
		$(BIN)/pktvisord --config deploy/examples/replay-sample.yaml; \
	fi

clean: ## remove build output
	rm -rf $(BIN)

bench-capture: ## capture paths vs tcpdump and an XDP_DROP ceiling over veth in netns (root, trafgen; about 1 minute)
	$(GO) build -tags libpcap -o $(BIN)/bench-capture ./test/bench-capture
	$(BIN)/bench-capture $(BENCH_CAPTURE_FLAGS)
