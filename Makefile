# `make run` and `make test` install what they need first (Debian packages; run as root).
SWIFT ?= swift
CONFIG ?= Config/foliod.toml
MOUNT ?= mnt
DEB_PACKAGES := fuse3 libfuse3-dev pkg-config
BIN := .build/debug

.PHONY: all build run test test-swift test-shell deps clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

run: build
	mkdir -p $(MOUNT) run
	$(BIN)/foliod --config $(CONFIG) --mount $(MOUNT)

test: build
	$(SWIFT) test
	FOLIOD=$(BIN)/foliod FOLIOCTL=$(BIN)/folioctl bash Tests/shell/run

clean:
	-fusermount3 -u -z $(MOUNT) 2>/dev/null
	rm -rf .build
