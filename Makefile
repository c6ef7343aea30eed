# Shatter: the two commands a newcomer needs are `make server` and `make test`.
GO        ?= go
BIN       := bin
SERVER    := $(BIN)/shatter-server
GOFILES   := $(shell git ls-files '*.go' 2>/dev/null)

.PHONY: server build test vet bench profile replay clean

## server: build and start the server on embedded defaults
server: build
	$(SERVER)

build:
	$(GO) build -o $(SERVER) ./cmd/server
	$(GO) build -o $(BIN)/shatter-replay ./cmd/replay

## test: formatting, vet, and every test with the race detector
test: vet
	$(GO) test -race -shuffle=on -count=1 ./...

vet:
	@unformatted="$$(gofmt -l $(GOFILES))"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: tick benchmarks (figures for docs/PERFORMANCE.md)
bench:
	$(GO) test -run '^$$' -bench . -benchtime 300x ./sim ./systems

## profile: fixed headless scenario, CPU profile split by system label
profile:
	$(GO) run ./cmd/server -headless -zombies 2000 -fragments 10000 -obstacles 300 -ticks 1000 -cpuprofile cpu.pprof
	$(GO) tool pprof -tags cpu.pprof | head -20

## replay: check every replay log in testdata/replays
replay:
	for f in testdata/replays/*.jsonl; do $(GO) run ./cmd/replay -q $$f || exit 1; done

clean:
	rm -rf $(BIN) cpu.pprof
