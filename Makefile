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
# image, mtools, squashfs-tools, e2fsprogs, zstd, systemd-boot-efi to build it.
DEBS := python3 python3-dkim python3-nacl python3-authres swaks dnsutils nftables iproute2 chromium \
	qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64 mtools squashfs-tools e2fsprogs zstd systemd-boot-efi

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

# Firmware image and update bundles (see README "Image and updates").
# make image BOARD=pc|rpi4|rpi5|qemu-amd64|qemu-arm64 [SEED=...] [BUILD=n]
BOARD ?= pc
BUILD ?= $(shell git rev-list --count HEAD 2>/dev/null || echo 1)
IMAGE_OUT ?= bin/image/$(BOARD)
KEYS ?= bin/keys
SEED ?=
MKIMAGE := $(GO) run ./image/cmd/mkimage

.PHONY: image bundle keys qemu qemu-test

# A development key pair, made once; release keys are made the same way
# with -kind release and kept off this machine.
keys:
	@ls $(KEYS)/*.pub >/dev/null 2>&1 || $(MKIMAGE) keygen -kind dev -o $(KEYS)

image: deps keys
	$(MKIMAGE) build -board $(BOARD) -version $(VERSION) -build $(BUILD) -keys $(KEYS) -o $(IMAGE_OUT) $(if $(SEED),-seed $(SEED))

bundle: image
	$(MKIMAGE) bundle -board $(BOARD) -version $(VERSION) -build $(BUILD) -in $(IMAGE_OUT) \
		-key $$(ls $(KEYS)/*.key | head -1) -o $(IMAGE_OUT)/facteur-$(BOARD)-$(VERSION).bundle

# Boots the image in QEMU (no KVM needed) with the mail and web ports on localhost.
QEMU_PORTS := 2525:25 2587:587 2143:143 2993:993 8080:80 8443:443
qemu: BOARD := qemu-amd64
qemu: image
	@cp -n /usr/share/OVMF/OVMF_VARS_4M.fd $(IMAGE_OUT)/vars.fd
	@fwd=""; for p in $(QEMU_PORTS); do fwd="$$fwd,hostfwd=tcp:127.0.0.1:$${p%%:*}-:$${p##*:}"; \
		echo "guest port $${p##*:} -> localhost:$${p%%:*}"; done; \
	echo "web UI: http://localhost:8080/   (Ctrl-A X quits QEMU)"; \
	qemu-system-x86_64 -machine q35 -m 1024 -smp 1 -display none -serial mon:stdio \
		-device i6300esb -watchdog-action reset \
		-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
		-drive if=pflash,format=raw,unit=1,file=$(IMAGE_OUT)/vars.fd \
		-drive file=$(IMAGE_OUT)/disk.img,format=raw,if=virtio \
		-netdev user,id=net0$$fwd -device virtio-net-pci,netdev=net0

# The QEMU tests including the A/B update test (several minutes under TCG).
qemu-test: deps
	FACTEUR_QEMU_OTA=1 $(GO) test -count=1 -v -timeout 40m -run 'TestQEMU' ./image
