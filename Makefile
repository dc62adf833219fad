# `make run` and `make test` install what they need first (Debian packages; run as root).
SWIFT ?= swift
CONFIG ?= Config/foliod.toml
MOUNT ?= mnt
DEB_PACKAGES := fuse3 libfuse3-dev pkg-config
# What only the tests use: systemd-analyze checks the unit and systemd-nspawn boots the
# installed tree under a real systemd; valgrind checks libfolio; the compiler and binutils
# build and inspect it; dpkg-deb and lintian build and check the package; a real Prometheus
# scrapes the metrics endpoint (promtool checks its output, curl reads it) and tmux runs
# `folioctl top`.
TEST_PACKAGES := systemd systemd-container valgrind gcc binutils dpkg-dev lintian prometheus tmux curl memtester stress-ng
# What Tests/vm/run boots its three-node VM with (it installs them, and virtme-ng from PyPI,
# and downloads a Debian kernel image into .build-vm-kernel/ itself).
VM_PACKAGES := qemu-system-x86 kmod busybox-static
# The Python that runs the module's tests, and pytest for it.
TEST_PYTHON ?= python3
BIN := .build/debug
# Release binaries live in a build folder of their own: SwiftPM does not relink a product
# when only --static-swift-stdlib changes, so one folder for both kinds could hand a
# dynamically linked binary to `make install`.
STATIC := .build-static
RELEASE := $(STATIC)/release

.PHONY: all build release run test bench gups fuzz libfuzzer soak install deps test-deps packages clean libfolio man deb

all: build libfolio

deps:
	@$(MAKE) --no-print-directory packages PACKAGES="$(DEB_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory packages PACKAGES="$(DEB_PACKAGES) $(TEST_PACKAGES)"
	@$(TEST_PYTHON) -c 'import pytest' 2>/dev/null || $(TEST_PYTHON) -m pip install -q pytest

packages:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Release binaries carry the Swift runtime inside (--static-swift-stdlib): they run on a
# machine without the toolchain. Built per product: the test targets import Testing, which
# has no static form.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC) --product foliod
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC) --product folioctl
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC) --product foliobench

# The daemon runs optimized: its copy loops are what the benchmark measures.
run: release
	mkdir -p $(MOUNT) run
	$(RELEASE)/foliod --config $(CONFIG) --mount $(MOUNT)

# Against `make run`'s daemon, from another shell.
bench: release
	$(RELEASE)/foliobench --socket run/foliod.sock bench --mount $(MOUNT) --plot Documentation/bench.svg

# The tiering policy under a GUPS workload, against `make run`'s daemon.
gups: release
	$(RELEASE)/foliobench --socket run/foliod.sock gups --mount $(MOUNT) --plot Documentation/gups.svg

# The Swift tests run one suite per process with a time limit (Tests/run-swift-tests), so a
# crash or a hang fails that suite alone. The shell tests go last, so their "N passed,
# N failed" line closes the output.
test: test-deps build libfolio release deb
	$(SWIFT) build --build-tests
	bash Tests/run-swift-tests
	FOLIOD=$(BIN)/foliod $(TEST_PYTHON) -m pytest -q Tests/python
	@echo "libFuzzer, $(TEST_FUZZ_SECONDS) s per target (make libfuzzer runs longer):"
	@$(MAKE) --no-print-directory libfuzzer FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) > .build-fuzz.log 2>&1 || { tail -n 40 .build-fuzz.log; exit 1; }
	@grep -E '^Done [0-9]+ runs' .build-fuzz.log
	VM_PACKAGES="$(VM_PACKAGES)" TEST_PYTHON=$(TEST_PYTHON) bash Tests/vm/run $(RELEASE)
	FOLIOD=$(BIN)/foliod FOLIOCTL=$(BIN)/folioctl FOLIOBENCH=$(BIN)/foliobench bash Tests/shell/run

# Longer fuzzing than `make test` runs (FUZZ_ITERATIONS per fuzz test).
FUZZ_ITERATIONS ?= 2000000
fuzz: build
	FOLIOD_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) $(SWIFT) test --filter 'FuzzTests/mutated'

# A bounded load run against its own daemon (release build): SOAK_SECONDS, SOAK_SESSIONS.
SOAK_SECONDS ?= 60
SOAK_SESSIONS ?= 64
soak: release
	FOLIOD=$(RELEASE)/foliod FOLIOBENCH=$(RELEASE)/foliobench bash Tests/shell/soak $(SOAK_SECONDS) $(SOAK_SESSIONS)

# Coverage-guided fuzzing with libFuzzer (FUZZ_SECONDS per target), seeded from the committed
# corpora; new interesting inputs go to .build-fuzz/corpus-*, crashes to .build-fuzz/crash-*.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 10
libfuzzer: deps
	$(SWIFT) build --scratch-path .build-fuzz -c release --sanitize=fuzzer -Xswiftc -DLIBFUZZER --product fuzz-knobs
	$(SWIFT) build --scratch-path .build-fuzz -c release --sanitize=fuzzer -Xswiftc -DLIBFUZZER --product fuzz-wire
	mkdir -p .build-fuzz/corpus-knobs .build-fuzz/corpus-wire
	.build-fuzz/release/fuzz-knobs -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=.build-fuzz/crash-knobs- .build-fuzz/corpus-knobs Tests/SysfsTests/Corpus
	.build-fuzz/release/fuzz-wire -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=.build-fuzz/crash-wire- .build-fuzz/corpus-wire Tests/FolioProtocolTests/Corpus

# libfolio: the C client, built with the system C compiler into $(CBUILD); it needs only libc.
CC ?= cc
CBUILD := .build-c
VERSION := $(shell sed -n 's/.*release = "\(.*\)"/\1/p' Sources/FolioProtocol/FoliodVersion.swift)
LIBFOLIO_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -fPIC -Ilibfolio/include -Ilibfolio/src
LIBFOLIO_SOURCES := $(wildcard libfolio/src/*.c)
LIBFOLIO_OBJECTS := $(LIBFOLIO_SOURCES:libfolio/src/%.c=$(CBUILD)/%.o)

# foliod-run (issue 22): libfolio-run.so, an LD_PRELOAD runtime built from libfolio/run and
# libfolio's own objects (its version script exports only the libc calls it interposes), the
# launcher, and the gups example it is shown with.
RUN_SOURCES := $(filter-out libfolio/run/foliod-run.c,$(wildcard libfolio/run/*.c))
RUN_OBJECTS := $(RUN_SOURCES:libfolio/run/%.c=$(CBUILD)/run/%.o)

libfolio: $(CBUILD)/libfolio.so.1 $(CBUILD)/libfolio.a $(CBUILD)/libfolio-run.so $(CBUILD)/foliod-run $(CBUILD)/gups

$(CBUILD)/run/%.o: libfolio/run/%.c libfolio/run/*.h libfolio/src/*.h libfolio/include/folio.h | $(CBUILD)/run
	$(CC) $(LIBFOLIO_CFLAGS) -c $< -o $@

$(CBUILD)/libfolio-run.so: $(RUN_OBJECTS) $(LIBFOLIO_OBJECTS) libfolio/run/libfolio-run.map
	$(CC) -shared -Wl,-soname,libfolio-run.so -Wl,--version-script=libfolio/run/libfolio-run.map -Wl,-z,defs -o $@ $(RUN_OBJECTS) $(LIBFOLIO_OBJECTS) -lpthread -ldl

$(CBUILD)/foliod-run: libfolio/run/foliod-run.c | $(CBUILD)
	$(CC) $(LIBFOLIO_CFLAGS) -o $@ $<

$(CBUILD)/gups: examples/gups.c | $(CBUILD)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -o $@ $<

$(CBUILD)/run:
	mkdir -p $@

$(CBUILD)/%.o: libfolio/src/%.c libfolio/src/*.h libfolio/include/folio.h | $(CBUILD)
	$(CC) $(LIBFOLIO_CFLAGS) -c $< -o $@

$(CBUILD)/libfolio.so.1: $(LIBFOLIO_OBJECTS) libfolio/libfolio.map
	$(CC) -shared -Wl,-soname,libfolio.so.1 -Wl,--version-script=libfolio/libfolio.map -Wl,-z,defs -o $@ $(LIBFOLIO_OBJECTS) -lpthread
	ln -sf libfolio.so.1 $(CBUILD)/libfolio.so

$(CBUILD)/libfolio.a: $(LIBFOLIO_OBJECTS)
	rm -f $@ && ar rcs $@ $(LIBFOLIO_OBJECTS)

$(CBUILD):
	mkdir -p $@

PREFIX ?= /usr/local
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
# `make install CONFIGURATION=debug` installs the debug build (the tests do, to skip a release build).
CONFIGURATION ?= release

# The system's python3 finds modules in PREFIX/lib/python3.X/dist-packages (Debian's layout).
SYSTEM_PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
PYTHON_SITE ?= $(PREFIX)/lib/python$(shell $(SYSTEM_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages

# Stripped binaries (foliod, folioctl and the load tools' foliobench; static Swift runtime in
# a release build, a debug build links the toolchain's), the units and the sysusers file (with
# @PREFIX@ and @SYSCONFDIR@ filled in),
# the config (socket and mount under /run/foliod, group foliod), the operator scripts, and
# the clients: libfolio (header, libraries, pc file), the Python module and the examples.
install: deps libfolio
	$(if $(filter release,$(CONFIGURATION)),$(MAKE) --no-print-directory release,$(SWIFT) build)
	install -D -m 0755 -s $(if $(filter release,$(CONFIGURATION)),$(RELEASE),.build/$(CONFIGURATION))/foliod $(DESTDIR)$(PREFIX)/bin/foliod
	install -D -m 0755 -s $(if $(filter release,$(CONFIGURATION)),$(RELEASE),.build/$(CONFIGURATION))/folioctl $(DESTDIR)$(PREFIX)/bin/folioctl
	install -D -m 0755 -s $(if $(filter release,$(CONFIGURATION)),$(RELEASE),.build/$(CONFIGURATION))/foliobench $(DESTDIR)$(PREFIX)/bin/foliobench
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(SYSCONFDIR)/foliod $(DESTDIR)$(PREFIX)/share/doc/foliod $(DESTDIR)$(PREFIX)/libexec/foliod
	for unit in foliod.service foliod.socket; do \
		sed 's|@PREFIX@|$(PREFIX)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' Config/$$unit > $(DESTDIR)$(UNITDIR)/$$unit; done
	install -m 0644 Config/foliod.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/foliod.conf
	sed 's|^mount = .*|mount = "/run/foliod/knobs"|; s|^socket = .*|socket = "/run/foliod/foliod.sock"|; s|^# group = "foliod"|group = "foliod"|' \
		Config/foliod.toml > $(DESTDIR)$(SYSCONFDIR)/foliod/foliod.toml
	install -m 0644 README.md Documentation/ABI.md Documentation/PROTOCOL.md Documentation/DESIGN.md SECURITY.md $(DESTDIR)$(PREFIX)/share/doc/foliod/
	install -m 0755 scripts/use-migrator scripts/watch-migrator scripts/compare-migrators $(DESTDIR)$(PREFIX)/libexec/foliod/
	install -D -m 0644 libfolio/include/folio.h $(DESTDIR)$(PREFIX)/include/folio.h
	install -D -m 0644 $(CBUILD)/libfolio.so.1 $(DESTDIR)$(PREFIX)/lib/libfolio.so.1
	strip --strip-unneeded $(DESTDIR)$(PREFIX)/lib/libfolio.so.1
	ln -sf libfolio.so.1 $(DESTDIR)$(PREFIX)/lib/libfolio.so
	install -m 0644 $(CBUILD)/libfolio.a $(DESTDIR)$(PREFIX)/lib/libfolio.a
	install -D -m 0644 $(CBUILD)/libfolio-run.so $(DESTDIR)$(PREFIX)/lib/libfolio-run.so
	strip --strip-unneeded $(DESTDIR)$(PREFIX)/lib/libfolio-run.so
	install -D -m 0755 -s $(CBUILD)/foliod-run $(DESTDIR)$(PREFIX)/bin/foliod-run
	install -D -m 0644 libfolio/run/foliod-run.1 $(DESTDIR)$(PREFIX)/share/man/man1/foliod-run.1
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/doc/foliod/examples
	sed 's|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(VERSION)|' libfolio/folio.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/folio.pc
	install -D -m 0644 python/foliod/__init__.py $(DESTDIR)$(PYTHON_SITE)/foliod/__init__.py
	install -m 0644 examples/* $(DESTDIR)$(PREFIX)/share/doc/foliod/examples/
	if [ -z "$(DESTDIR)" ]; then ldconfig; fi

# Man pages, from the argument parser's own description of each command (its
# generate-manual tool, run on the debug binaries).
MAN := .build-man
man: build
	$(SWIFT) build --product generate-manual
	mkdir -p $(MAN)/1 $(MAN)/8
	$(BIN)/generate-manual $(BIN)/folioctl --section 1 --output-directory $(MAN)/1
	$(BIN)/generate-manual $(BIN)/foliobench --section 1 --output-directory $(MAN)/1
	$(BIN)/generate-manual $(BIN)/foliod --section 8 --output-directory $(MAN)/8

# A Debian package of what `make install` installs, built with dpkg-deb and checked with
# lintian: the config is a conffile under /etc/foliod, the maintainer scripts create the
# foliod group and enable the units as dh_installsystemd would.
DEB := .build-deb
ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE := $(DEB)/foliod_$(VERSION)_$(ARCH).deb
deb: test-deps man release libfolio
	rm -rf $(DEB) && mkdir -p $(DEB)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB)/root PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/lib/systemd/system PYTHON_SITE=/usr/lib/python3/dist-packages
	install -d $(DEB)/root/usr/share/man/man1 $(DEB)/root/usr/share/man/man8 $(DEB)/root/DEBIAN
	gzip -9n < $(MAN)/1/folioctl.1 > $(DEB)/root/usr/share/man/man1/folioctl.1.gz
	gzip -9n < $(MAN)/1/foliobench.1 > $(DEB)/root/usr/share/man/man1/foliobench.1.gz
	gzip -9n < $(MAN)/8/foliod.8 > $(DEB)/root/usr/share/man/man8/foliod.8.gz
	gzip -9nf $(DEB)/root/usr/share/man/man1/foliod-run.1
	install -m 0644 packaging/debian/copyright $(DEB)/root/usr/share/doc/foliod/copyright
	sed 's|@VERSION@|$(VERSION)|' packaging/debian/changelog | gzip -9n > $(DEB)/root/usr/share/doc/foliod/changelog.gz
	install -m 0644 packaging/debian/conffiles packaging/debian/triggers $(DEB)/root/DEBIAN/
	install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm $(DEB)/root/DEBIAN/
	sed 's|@VERSION@|$(VERSION)|' packaging/debian/shlibs.in > $(DEB)/root/DEBIAN/shlibs
	sed 's|@VERSION@|$(VERSION)|; s|@ARCH@|$(ARCH)|; s|@SIZE@|'"$$(du -sk --exclude=DEBIAN $(DEB)/root | cut -f1)"'|' packaging/debian/control.in > $(DEB)/root/DEBIAN/control
	dpkg-deb --root-owner-group --build $(DEB)/root $(DEB_FILE)
	lintian --fail-on error $(DEB_FILE)

clean:
	-fusermount3 -u -z $(MOUNT) 2>/dev/null
	rm -rf .build $(STATIC) $(CBUILD) $(MAN) $(DEB)
