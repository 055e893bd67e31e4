# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# sendguard: the only entry point. `make help` lists the targets.

OUTPUT ?= build
CLANG ?= clang
CC ?= cc
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/s390x/s390/')

# vmlinux.h: the vendored per-arch copy (reproducible), or VMLINUX=gen to
# generate it from the running kernel's BTF.
VMLINUX ?= vendored
ifeq ($(VMLINUX),gen)
VMLINUX_H := $(OUTPUT)/vmlinux/vmlinux.h
else
VMLINUX_H := bpf/vmlinux/$(ARCH)/vmlinux.h
endif

PKGS := libbpf json-c libseccomp
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror
CFLAGS ?= -g -O2
ALL_CFLAGS := $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing \
	-Ibpf -Icommon -I$(OUTPUT) $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lelf -lz

# System include dirs for BPF compilation (libbpf-bootstrap's trick): clang
# -target bpf does not search the host's multiarch dirs on its own.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	-I$(dir $(VMLINUX_H)) -Ibpf $(CLANG_BPF_SYS_INCLUDES)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_HDRS := $(wildcard bpf/*.bpf.h) bpf/sendguard.h
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(COMMON_SRCS))
COMMON_LIB := $(OUTPUT)/libsgcommon.a
COMMON_HDRS := $(wildcard common/*.h) bpf/sendguard.h

DAEMON_SRCS := $(wildcard daemon/*.c)
DAEMON_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(DAEMON_SRCS))
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(CLI_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
TEST_HELPER_SRCS := $(wildcard tests/helpers/*.c)
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(OUTPUT)/tests/%,$(TEST_HELPER_SRCS))
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

PROGS := $(OUTPUT)/sendguardd $(if $(CLI_SRCS),$(OUTPUT)/sendguard)

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps bench-deps run test unit-test cli-test integration-test test-kernels bench clean \
	install help vmlinux check check-format cppcheck format progs deb package-test

all: $(PROGS) $(TEST_HELPERS) $(BENCH_BINS) $(UNIT_BINS)

help:
	@echo 'make                 build everything into $(OUTPUT)/'
	@echo 'make deps            install build and test dependencies (apt, root)'
	@echo 'make run             run sendguardd on the default policy (root)'
	@echo 'make test            unit, CLI and short fuzz tests (unit tests and fuzzers built with ASan'
	@echo '                     and UBSan); as root or with CI=true also the integration tests and'
	@echo '                     the kernel matrix (KERNELS=none: without it)'
	@echo 'make unit-test       the unit tests alone (ASan, UBSan; built into $(OUTPUT)/san/)'
	@echo 'make test-kernels    the integration tests on Debian 5.10, 6.1, 6.12 under qemu (root)'
	@echo 'make fuzz            long libFuzzer runs: policy parser, control requests (FUZZ_TIME=600 each)'
	@echo 'make check           check-format and cppcheck, each whatever the other said'
	@echo 'make check-format    the C sources against .clang-format (make format rewrites them)'
	@echo 'make cppcheck        cppcheck over the user-space C (warning, portability)'
	@echo 'make bench           overhead and encoder benchmarks (root)'
	@echo 'make bench-deps      install the peers make bench compares with (bpftrace, auditd)'
	@echo 'make vmlinux         regenerate bpf/vmlinux/$(ARCH)/vmlinux.h from this kernel'
	@echo 'make install         install (PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) SYSCONFDIR=$(SYSCONFDIR))'
	@echo 'make deb             Debian package into $(OUTPUT)/deb/, checked by lintian'
	@echo 'make clean           remove $(OUTPUT)/'
	@echo 'V=1 prints commands; VMLINUX=gen builds against this kernel BTF'

# The last line: what the fleet tests run (a Prometheus server and promtool,
# rsyslog, systemd-analyze, man) and what make deb needs.
DEB_PACKAGES := make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev \
	libjson-c-dev libseccomp-dev libcmocka-dev libclang-rt-dev python3 python3-jsonschema \
	clang-format cppcheck \
	qemu-system-x86 busybox-static util-linux curl bind9-dnsutils prometheus rsyslog systemd \
	man-db build-essential debhelper dpkg-dev lintian

deps:
	@if command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES); \
	else \
		echo "make deps: apt-get not found; install: $(DEB_PACKAGES)" >&2; exit 1; \
	fi

$(OUTPUT) $(OUTPUT)/vmlinux $(OUTPUT)/common $(OUTPUT)/daemon $(OUTPUT)/cli $(OUTPUT)/tests $(OUTPUT)/bench:
	$(Q)mkdir -p $@

# --- BPF -------------------------------------------------------------------

$(OUTPUT)/vmlinux/vmlinux.h: | $(OUTPUT)/vmlinux
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

vmlinux:
	$(call msg,GEN,bpf/vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p bpf/vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux/$(ARCH)/vmlinux.h

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# bench/floor.bpf.c: the empty program of the benchmark's "floor" scenario.
$(OUTPUT)/bench/%.bpf.o: bench/%.bpf.c $(VMLINUX_H) | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/bench/%.skel.h: $(OUTPUT)/bench/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# --- user space ------------------------------------------------------------

$(OUTPUT)/common/%.o: common/%.c $(COMMON_HDRS) | $(OUTPUT)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUTPUT)/daemon/%.o: daemon/%.c $(wildcard daemon/*.h) $(COMMON_HDRS) $(SKELS) | $(OUTPUT)/daemon
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/cli/%.o: cli/%.c $(wildcard cli/*.h) $(COMMON_HDRS) | $(OUTPUT)/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/sendguardd: $(DAEMON_OBJS) $(COMMON_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/sendguard: $(CLI_OBJS) $(COMMON_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(COMMON_LIB) $(COMMON_HDRS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(COMMON_LIB) $(LDLIBS) -lcmocka -o $@

# The filter planner of `sendguard run` is CLI code: its test links it beside the library.
$(OUTPUT)/tests/test_run_plan: tests/unit/test_run_plan.c $(OUTPUT)/cli/run_plan.o $(COMMON_LIB) \
		$(COMMON_HDRS) cli/run_plan.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Icli $< $(OUTPUT)/cli/run_plan.o $(COMMON_LIB) $(LDLIBS) -lcmocka -o $@

$(OUTPUT)/tests/%: tests/helpers/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -lpthread -o $@

$(OUTPUT)/bench/floor: $(OUTPUT)/bench/floor.skel.h

$(OUTPUT)/bench/%: bench/%.c $(COMMON_LIB) $(COMMON_HDRS) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(COMMON_LIB) $(LDLIBS) -o $@

# --- sanitized unit tests ------------------------------------------------------
# make test runs the unit tests only in this build: the tests and the library
# code they link (common/, cli/run_plan.c) compiled with ASan and UBSan into
# $(OUTPUT)/san/, apart from the normal objects. Any UBSan report is fatal.
SAN_CC ?= $(CC)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_CFLAGS := $(ALL_CFLAGS) $(SAN_FLAGS)
SAN_OUT := $(OUTPUT)/san
SAN_COMMON_OBJS := $(patsubst %.c,$(SAN_OUT)/%.o,$(COMMON_SRCS))
SAN_COMMON_LIB := $(SAN_OUT)/libsgcommon.a
SAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(SAN_OUT)/tests/%,$(UNIT_SRCS))

$(SAN_OUT)/common $(SAN_OUT)/cli $(SAN_OUT)/tests:
	$(Q)mkdir -p $@

$(SAN_OUT)/common/%.o: common/%.c $(COMMON_HDRS) | $(SAN_OUT)/common
	$(call msg,SAN-CC,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -c $< -o $@

$(SAN_OUT)/cli/%.o: cli/%.c $(wildcard cli/*.h) $(COMMON_HDRS) | $(SAN_OUT)/cli
	$(call msg,SAN-CC,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -c $< -o $@

$(SAN_COMMON_LIB): $(SAN_COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SAN_OUT)/tests/test_%: tests/unit/test_%.c $(SAN_COMMON_LIB) $(COMMON_HDRS) | $(SAN_OUT)/tests
	$(call msg,SAN-CC,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $< $(SAN_COMMON_LIB) $(LDLIBS) -lcmocka -o $@

$(SAN_OUT)/tests/test_run_plan: tests/unit/test_run_plan.c $(SAN_OUT)/cli/run_plan.o \
		$(SAN_COMMON_LIB) $(COMMON_HDRS) cli/run_plan.h | $(SAN_OUT)/tests
	$(call msg,SAN-CC,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -Icli $< $(SAN_OUT)/cli/run_plan.o $(SAN_COMMON_LIB) $(LDLIBS) \
		-lcmocka -o $@

# --- daemon unit tests --------------------------------------------------------
# The daemon's objects but main.c, in a library of their own (a test links only
# the modules it calls), beside the common library; the same in the sanitized build.
DAEMON_UNIT_TESTS := cache control policy_mgr
DAEMON_LIB_OBJS := $(filter-out $(OUTPUT)/daemon/main.o,$(DAEMON_OBJS))
DAEMON_LIB := $(OUTPUT)/libsgdaemon.a
SAN_DAEMON_LIB := $(SAN_OUT)/libsgdaemon.a
DAEMON_UNIT_BINS := $(patsubst %,$(OUTPUT)/tests/test_%,$(DAEMON_UNIT_TESTS))
SAN_DAEMON_UNIT_BINS := $(patsubst %,$(SAN_OUT)/tests/test_%,$(DAEMON_UNIT_TESTS))

$(SAN_OUT)/daemon:
	$(Q)mkdir -p $@

$(SAN_OUT)/daemon/%.o: daemon/%.c $(wildcard daemon/*.h) $(COMMON_HDRS) $(SKELS) | $(SAN_OUT)/daemon
	$(call msg,SAN-CC,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -c $< -o $@

$(DAEMON_LIB): $(DAEMON_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SAN_DAEMON_LIB): $(patsubst $(OUTPUT)/%,$(SAN_OUT)/%,$(DAEMON_LIB_OBJS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(DAEMON_UNIT_BINS): $(OUTPUT)/tests/test_%: tests/unit/test_%.c $(DAEMON_LIB) $(COMMON_LIB) \
		$(COMMON_HDRS) $(wildcard daemon/*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Idaemon $< $(DAEMON_LIB) $(COMMON_LIB) $(LDLIBS) -lcmocka -o $@

$(SAN_DAEMON_UNIT_BINS): $(SAN_OUT)/tests/test_%: tests/unit/test_%.c $(SAN_DAEMON_LIB) \
		$(SAN_COMMON_LIB) $(COMMON_HDRS) $(wildcard daemon/*.h) | $(SAN_OUT)/tests
	$(call msg,SAN-CC,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) -Idaemon $< $(SAN_DAEMON_LIB) $(SAN_COMMON_LIB) $(LDLIBS) \
		-lcmocka -o $@

# --- run, test, bench --------------------------------------------------------

run: $(PROGS)
	./$(OUTPUT)/sendguardd -f

# Every suite runs and reports whatever the others did (tests/suites.py), and the
# last line sums them. The suites that need root and BPF run as root, and always
# with CI=true (where they fail, not skip, if BPF cannot be loaded); the kernel
# matrix boots Debian's 5.10, 6.1 and 6.12 under qemu (KERNELS=none leaves it out,
# KERNELS=6.1 runs one).
KERNELS ?= 5.10,6.1,6.12
SUITES = $(PYTHON) tests/suites.py --build $(OUTPUT) --kernels $(KERNELS)

test: all $(SAN_UNIT_BINS) $(OUTPUT)/fuzz/fuzz_policy $(OUTPUT)/fuzz/fuzz_control
	$(Q)$(SUITES)

unit-test: $(SAN_UNIT_BINS)
	$(Q)$(SUITES) --only unit

cli-test: $(OUTPUT)/sendguard $(OUTPUT)/sendguardd
	$(Q)$(SUITES) --only cli

integration-test: all
	$(Q)$(SUITES) --only integration,enforce,persist,control,cli_control,sandbox,metrics,remote_syslog,service

test-kernels: all
	$(Q)$(SUITES) --only kernels

bench: all
	$(Q)$(PYTHON) bench/run.py --build $(OUTPUT)

# The peers make bench measures beside sendguard (scenario peers); without them it says so.
bench-deps:
	@if command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends bpftrace auditd; \
	else \
		echo "make bench-deps: apt-get not found; install: bpftrace auditd" >&2; exit 1; \
	fi

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

progs: $(PROGS)

# Binaries, man pages, the policies and the daemon's options under
# $(SYSCONFDIR), the systemd unit. Tested by tests/packaging/install.py.
install: $(PROGS)
	install -d -m 0755 $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(OUTPUT)/sendguardd $(DESTDIR)$(PREFIX)/sbin/sendguardd
	$(if $(CLI_SRCS),install -m 0755 $(OUTPUT)/sendguard $(DESTDIR)$(PREFIX)/bin/sendguard)
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/sendguard $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0644 policies/*.json $(DESTDIR)$(SYSCONFDIR)/sendguard/
	sed 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/sendguard.default.in \
		> $(DESTDIR)$(SYSCONFDIR)/default/sendguard
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/default/sendguard
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		sendguardd.service.in > $(DESTDIR)$(UNITDIR)/sendguardd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sendguardd.service

# make deb: a Debian package built from a copy of this tree with
# packaging/debian, into $(OUTPUT)/deb/ (sendguard_VERSION_ARCH.deb), then
# checked by lintian (errors fail the build).
DEB_DIR := $(abspath $(OUTPUT))/deb
deb:
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)tar -c --exclude-vcs --exclude=./$(patsubst $(CURDIR)/%,%,$(abspath $(OUTPUT))) \
		--exclude=./build --exclude=./.output -f - . | tar -x -C $(DEB_DIR)/src
	$(Q)cp -r packaging/debian $(DEB_DIR)/src/debian
	$(call msg,DEB,$(DEB_DIR))
	$(Q)cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc --no-sign >$(DEB_DIR)/build.log 2>&1 || \
		{ tail -n 40 $(DEB_DIR)/build.log; exit 1; }
	$(Q)lintian --fail-on error --suppress-tags bad-distribution-in-changes-file \
		$(DEB_DIR)/sendguard_*.deb
	$(Q)ls $(DEB_DIR)/*.deb

# Installation, the unit and the package (tests/packaging/*.py). The package
# test installs it on this machine with apt and removes it: root only.
package-test: $(PROGS)
	$(Q)$(SUITES) --only install,deb

include tests/fuzz/Makefile.inc

# --- checks ------------------------------------------------------------------

FORMAT_SRCS = $(filter-out bpf/vmlinux/%,$(wildcard bpf/*.c bpf/*.h common/*.[ch] daemon/*.[ch] \
	cli/*.[ch] tests/unit/*.c tests/helpers/*.c tests/fuzz/*.c bench/*.c))
check-format:
	$(call msg,FORMAT,$(words $(FORMAT_SRCS)) files)
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

# cppcheck on the user-space C: daemon, CLI, library, tests, fuzzers, benchmarks.
# Not the BPF programs: cppcheck models neither vmlinux.h nor the BPF helpers and
# CO-RE builtins; clang -target bpf -Werror and the verifier check those. One
# configuration (_GNU_SOURCE and this architecture), no system headers (its std
# library knows libc), libbpf's macros from tests/cppcheck/libbpf.cfg. A false
# positive is suppressed at its line: /* cppcheck-suppress ID ; why */
CPPCHECK ?= cppcheck
CPPCHECK_JOBS ?= 2
CPPCHECK_SRCS = $(wildcard common/*.c daemon/*.c cli/*.c tests/unit/*.c tests/helpers/*.c \
	tests/fuzz/*.c) $(BENCH_SRCS)
CPPCHECK_FLAGS = -q -j$(CPPCHECK_JOBS) --enable=warning,portability --error-exitcode=1 \
	--inline-suppr --std=c11 -D_GNU_SOURCE -D$(if $(filter arm64,$(ARCH)),__aarch64__,__x86_64__) \
	--library=tests/cppcheck/libbpf.cfg -Ibpf -Icommon -Idaemon -Icli
cppcheck:
	$(call msg,CPPCHECK,$(words $(CPPCHECK_SRCS)) files)
	$(Q)$(CPPCHECK) $(CPPCHECK_FLAGS) $(CPPCHECK_SRCS)

# Both run whatever the other said; the last line says which failed.
check:
	$(Q)failed=; \
	$(MAKE) --no-print-directory check-format || failed="$$failed check-format"; \
	$(MAKE) --no-print-directory cppcheck || failed="$$failed cppcheck"; \
	if [ -n "$$failed" ]; then echo "make check: FAILED:$$failed"; exit 1; fi; \
	echo "make check: passed (check-format, cppcheck)"
