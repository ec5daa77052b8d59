# Facteur's build, run and test entry points. See README.md.
GO ?= go
BIN := bin/facteur
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X facteur/appliance.Version=$(VERSION)
FUZZTIME ?= 10s
# make test fuzzes by count, not time: Go 1.26's fuzz coordinator can fail a
# time-bounded run with a spurious "context deadline exceeded" at the deadline
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
TESTFUZZ ?= 10000x

.PHONY: all build run test check deps fuzz bench clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./appliance/cmd/facteur

# Runs everything in one process on the dev ports with data in ./data.
run: build
	./$(BIN) dev

# Installs what the tests need (Debian packages), then runs every test,
# the fuzz targets briefly, and the static checks.
test: deps check
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) fuzz FUZZTIME=$(TESTFUZZ)

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Debian packages used by tests as outside clients and tools: python3
# (smtplib, imaplib, poplib), python3-dkim, python3-nacl (Ed25519) and python3-authres (ARC), swaks, dig
# (dnsutils), nft (nftables) and ip (iproute2) for the namespace tests,
# chromium for the web UI tests, qemu-system-x86/-arm + ovmf to boot the
# image, mtools, squashfs-tools, e2fsprogs, zstd to build it.
DEBS := python3 python3-dkim python3-nacl python3-authres swaks dnsutils nftables iproute2 chromium \
	qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64 mtools squashfs-tools e2fsprogs zstd

deps:
	@need=""; for p in $(DEBS); do \
		dpkg-query -W -f '$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || need="$$need $$p"; \
	done; \
	if [ -n "$$need" ]; then \
		echo "installing:$$need"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$need >/dev/null; \
	fi

# Every fuzz target for FUZZTIME each (make fuzz FUZZTIME=5m for longer).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

bench:
	$(GO) run ./bench/cmd/mailbench

clean:
	rm -rf bin
