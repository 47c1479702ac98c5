# aurora - alert webhooks to incidents, as a toolkit of small C filters.
#
#   make            build build/aurora-*
#   make check      build with ASan+UBSan into build-san/ and run the bats suite on it,
#                   then the browser tests on it, then check-tests
#   make check-browser  the page in headless Chromium (tests/browser), screenshots in build/screenshots
#   make check-tests  each command's bats files against a silent stub of it: lists the tests that still pass
#   make lint       cppcheck, clang-tidy, mandoc -Tlint, shellcheck, banned functions
#   make run        install what is missing, build, start aurora on 127.0.0.1
#   make bench      the performance figures of the issues, each beside its baseline
#   make fuzz       libFuzzer targets under tests/fuzz (clang), FUZZ_SECONDS each
#   make coverage   the bats suite against a gcov build (build-cov/): line coverage of lib/
#   make install    PREFIX=/usr/local DESTDIR= BINDIR= MANDIR= SHAREDIR=

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SHAREDIR  ?= $(PREFIX)/share/aurora
DESTDIR   ?=

CC        ?= cc
OPT       ?= -O2
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wwrite-strings -Wformat=2 -Wvla
CFLAGS    ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -Ilib -Ibuild/gen \
             -DAURORA_VERSION='"$(VERSION)"' -DAURORA_SHAREDIR='"$(SHAREDIR)"' \
             $(shell pkg-config --cflags sqlite3 libcurl libmicrohttpd yaml-0.1)
# libmicrohttpd is compiled against, not linked: lib/http_mhd.c opens it with dlopen
# SQLite is linked in from Debian's libsqlite3.a: under inetd every connection
# is a new process, and resolving libsqlite3.so cost each one about 0.3 ms
SQLITE_LIBS ?= -Wl,-Bstatic -lsqlite3 -Wl,-Bdynamic
# libyaml reads Backstage catalog-info files (lib/catalog_read.c)
LDLIBS    := -Wl,--as-needed -ljq $(SQLITE_LIBS) $(shell pkg-config --libs libcurl yaml-0.1) \
             -lpthread -lm
# SHA-256 and HMAC are built in (lib/sha256.c): the programs do not link libcrypto;
# the unit tests do, as the reference they compare lib/sha256.c against
CRYPTO_CFLAGS := $(shell pkg-config --cflags libcrypto)
CRYPTO_LIBS   := $(shell pkg-config --libs libcrypto)
SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# make coverage: gcov counters, unoptimized so lines map to code; warnings stay warnings
# (at -O0 gcc 12 reports -Wrestrict where -O2 sees none: the plain build is the judge)
COV       := --coverage -O0 -Wno-error

CMDS      := $(patsubst cmd/%.c,%,$(wildcard cmd/aurora-*.c))
LIB_SRC   := $(wildcard lib/*.c)
LIB_HDR   := $(wildcard lib/*.h)
MAPPINGS  := $(wildcard lib/mappings/*.jq)
SAMPLES   := $(wildcard lib/samples/*.json)
WEB       := $(wildcard web/*.html web/*.js web/*.css)
MANPAGES  := $(wildcard man/*.1 man/*.7)
BATS      := $(sort $(wildcard tests/*.bats))
# fuzz targets (tests/fuzz): libFuzzer's in build-fuzz/ (make fuzz), and in every
# variant a replay of their corpora without libFuzzer (tests/fuzz/replay.c, tests/fuzz.bats)
FUZZERS   := $(patsubst tests/fuzz/%.c,%,$(filter-out tests/fuzz/replay.c,$(wildcard tests/fuzz/*.c)))

# one variant of the build per directory: build/ (plain) and build-san/ (sanitizers)
define variant
$(1)/obj/%.o: %.c $(LIB_HDR) build/gen/embedded.h | $(1)/obj/lib $(1)/obj/cmd $(1)/obj/tests/unit
	$$(CC) $$(ALL_CFLAGS) $(2) -c -o $$@ $$<
$(1)/libaurora.a: $(patsubst %.c,$(1)/obj/%.o,$(LIB_SRC)) $(1)/obj/build/gen/embedded.o
	rm -f $$@ && ar rcs $$@ $$^
$(1)/obj/build/gen/embedded.o: build/gen/embedded.c build/gen/embedded.h | $(1)/obj/build/gen
	$$(CC) $$(ALL_CFLAGS) $(2) -c -o $$@ $$<
$(1)/aurora-%: $(1)/obj/cmd/aurora-%.o $(1)/libaurora.a
	$$(CC) $$(ALL_CFLAGS) $(2) -o $$@ $$^ $$(LDLIBS)
$(1)/obj/tests/unit/unit.o: ALL_CFLAGS += $$(CRYPTO_CFLAGS)
$(1)/unit-tests: $(1)/obj/tests/unit/unit.o $(1)/libaurora.a
	$$(CC) $$(ALL_CFLAGS) $(2) -o $$@ $$^ $$(LDLIBS) $$(CRYPTO_LIBS)
$(1)/obj/lib $(1)/obj/cmd $(1)/obj/build/gen $(1)/obj/tests/unit:
	mkdir -p $$@
endef

.PHONY: all san check check-browser check-tests test lint run bench fuzz coverage install uninstall clean deps
.SECONDARY:

all: $(addprefix build/,$(CMDS)) build/unit-tests $(addprefix build/fuzz/,$(FUZZERS))
san: $(addprefix build-san/,$(CMDS)) build-san/unit-tests $(addprefix build-san/fuzz/,$(FUZZERS))

$(eval $(call variant,build,))
$(eval $(call variant,build-san,$(SAN)))
$(eval $(call variant,build-cov,$(COV)))

# a fuzz target with tests/fuzz/replay.c as its main (libcrypto: sha256_fuzz's reference)
define fuzz_variant
$(1)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/harness.h $(1)/libaurora.a $(LIB_HDR) | $(1)/fuzz
	$$(CC) $$(ALL_CFLAGS) $$(CRYPTO_CFLAGS) $(2) -o $$@ $$< tests/fuzz/replay.c $(1)/libaurora.a $$(LDLIBS) $$(CRYPTO_LIBS)
$(1)/fuzz:
	mkdir -p $$@
endef
$(eval $(call fuzz_variant,build,))
$(eval $(call fuzz_variant,build-san,$(SAN)))
$(eval $(call fuzz_variant,build-cov,$(COV)))

# mappings, sample payloads and the page (web/) are data files compiled into the binaries
build/gen/embedded.c: scripts/embed $(MAPPINGS) $(SAMPLES) $(WEB)
	mkdir -p build/gen
	sh scripts/embed build/gen/embedded $(MAPPINGS) $(SAMPLES) $(WEB)
build/gen/embedded.h: build/gen/embedded.c
	@test -f $@

deps:
	sh scripts/install-deps

# the whole suite against the sanitized build; TESTS=tests/x.bats for one file
TESTS ?= $(BATS)
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
check: san all
	sh scripts/check $(CURDIR)/build-san $(TESTS)
ifeq ($(origin TESTS),file)
	sh scripts/check-browser $(CURDIR)/build-san
	sh scripts/check-tests $(CURDIR)/build
endif

# the page in Debian's Chromium through playwright-core (scripts/install-deps installs both)
check-browser: all
	sh scripts/check-browser $(CURDIR)/build

test: all
	AURORA_BIN=$(CURDIR)/build bats $(TESTS)

# can the tests fail: each command's bats files against a stub that prints nothing (CMDS_STUB=aurora-x for one)
check-tests: all
	sh scripts/check-tests $(CURDIR)/build $(CMDS_STUB)

lint: build/gen/embedded.h
	sh scripts/lint

run: 
	sh scripts/install-deps
	$(MAKE) all
	sh scripts/run

bench: all
	sh scripts/bench

# FUZZ_SECONDS per target (default 180), FUZZ_TARGETS=x_fuzz for some, FUZZ_JOBS
fuzz:
	sh scripts/fuzz

# line coverage of lib/ by the bats suite (gcc --coverage into build-cov/, gcovr), TESTS= for some
# (every program of it links tests/coverage/gcov_exit.c: _exit writes the counters first;
# the programs are linked again each time, as their link line is not a file make compares)
COV_TARGETS := $(addprefix build-cov/,$(CMDS)) build-cov/unit-tests $(addprefix build-cov/fuzz/,$(FUZZERS))
build-cov/%: LDLIBS += build-cov/gcov_exit.o -Wl,--wrap=_exit
build-cov/gcov_exit.o: tests/coverage/gcov_exit.c | build-cov/obj/lib
	$(CC) -c -O0 -o $@ $<
coverage:
	$(MAKE) build-cov/gcov_exit.o
	rm -f $(COV_TARGETS)
	$(MAKE) $(COV_TARGETS)
	sh scripts/coverage $(CURDIR)/build-cov $(TESTS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(SHAREDIR)/mappings $(DESTDIR)$(SHAREDIR)/examples
	install -m 0755 $(addprefix build/,$(CMDS)) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7/
	$(if $(MAPPINGS),install -m 0644 $(MAPPINGS) $(DESTDIR)$(SHAREDIR)/mappings/)
	install -m 0644 $(wildcard examples/*.*) $(DESTDIR)$(SHAREDIR)/examples/
	install -d $(DESTDIR)$(SHAREDIR)/examples/catalog
	install -m 0644 $(wildcard examples/catalog/*) $(DESTDIR)$(SHAREDIR)/examples/catalog/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(CMDS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(wildcard man/*.7)))
	rm -rf $(DESTDIR)$(SHAREDIR)

clean:
	rm -rf build build-san build-fuzz build-cov
