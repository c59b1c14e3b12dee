# ifctl: the InfraFabric operations console.
#
#   make deps     install missing Debian packages (apt-get; sudo when not root)
#   make          build build/ifctl
#   make check    deps, build, then every test (unit, cli, integ, tui)
#   make bench    deps, build, then the benchmarks under bench/
#   make bench-check  a short benchmark against the stored baseline
#   make analyze  build with gcc -fanalyzer (every report is an error)
#   make run      deps, build, start the local server and the demo, open the console
#   make fuzz     deps, build the libFuzzer targets with clang into build-fuzz/,
#                 run each for FUZZ_SECONDS (default 60)
#   make install  PREFIX=/usr/local DESTDIR=
#
# V=1 prints full commands; SANITIZE=address,undefined builds into
# build-san/ with sanitizers, SANITIZE=thread into build-tsan/ (make
# check-tsan builds and runs the threaded suites there). CC=clang builds into
# build-clang/ (and build-san-clang/ with SANITIZE=), e.g. make check CC=clang
# SANITIZE=address,undefined,float-cast-overflow, which gcc cannot catch.

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share/ifctl
BASHCOMP ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMP  ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMP ?= $(PREFIX)/share/fish/vendor_completions.d

VERSION  := 0.1.0
PKGS     := libnats libcjson yaml-0.1 sqlite3 libsodium ncursesw libcrypt libseccomp
DEB_PKGS := gcc make pkg-config libnats-dev nats-server libcjson-dev \
	    libyaml-dev libsqlite3-dev libsodium-dev libncurses-dev \
	    libcmocka-dev tmux bubblewrap libseccomp-dev wabt libcrypt-dev \
	    clang libclang-rt-14-dev nodejs jq man-db

BUILD := build$(if $(SANITIZE),$(if $(findstring thread,$(SANITIZE)),-tsan,-san))$(if $(findstring clang,$(notdir $(CC))),-clang)

CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wvla -Wpointer-arith -Wundef \
	   -Wcast-align -Wwrite-strings -Wnull-dereference -Werror
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CPPFLAGS := -D_GNU_SOURCE -DIFCTL_VERSION='"$(VERSION)"' -Isrc $(CPPFLAGS)
ALL_CFLAGS   := $(WARN) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS  := $(LDFLAGS)
LIBS         := $(PKG_LIBS) -lpthread -lm
ifneq ($(SANITIZE),)
ALL_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

CORE_SRC := $(wildcard src/core/*.c)
CMD_SRC  := $(wildcard src/cmd/*.c)
BENCH_SRC := $(wildcard src/bench/*.c)
TUI_SRC  := $(wildcard src/tui/*.c)
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/%.o) $(BUILD)/gen/schemas.o
CMD_OBJ  := $(CMD_SRC:src/%.c=$(BUILD)/%.o) $(TUI_SRC:src/%.c=$(BUILD)/%.o)
# The benchmarks behind 'coordinator bench' and 'witness bench': linked into
# the binary only, not into libcore.a (what the product does).
BENCH_OBJ := $(BENCH_SRC:src/%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
INTEG_SRC := $(wildcard tests/integ/test-*.c)
INTEG_BIN := $(INTEG_SRC:tests/integ/%.c=$(BUILD)/tests/%)
HELPER_OBJ := $(BUILD)/tests/harness.o
.SECONDARY: $(HELPER_OBJ)
IFCTL := $(BUILD)/ifctl

.PHONY: all deps deps-node check check-tsan test test-unit test-cli test-integ bench bench-check run chassis-fixtures chaos \
	install uninstall clean layering analyze fuzz fuzz-build
all: $(IFCTL)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The JSON Schemas under schemas/, compiled in as they are (core/jschema.h).
$(BUILD)/gen/schemas.c: $(wildcard schemas/*.schema.json) tools/embed-schemas.sh
	@mkdir -p $(dir $@)
	$(Q)sh tools/embed-schemas.sh $(wildcard schemas/*.schema.json) >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/schemas.o: $(BUILD)/gen/schemas.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/libcore.a: $(CORE_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(IFCTL): $(CMD_OBJ) $(BENCH_OBJ) $(BUILD)/libcore.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
	$(Q)ln -sf ifctl $(BUILD)/if

$(BUILD)/tests/%.o: tests/helper/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/helper $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/test-%: tests/unit/test-%.c $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/helper $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(BUILD)/libcore.a $(LIBS) -lcmocka

# The renderer belongs to the faces (src/cmd) but does no I/O of its own:
# its unit test links it with the core.
$(BUILD)/tests/test-render: tests/unit/test-render.c $(BUILD)/cmd/render.o $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/helper $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(BUILD)/cmd/render.o $(BUILD)/libcore.a $(LIBS) -lcmocka

# The console's parts that need no terminal (pane formatting, the model, the
# pane table, themes): their unit test links them with the core.
TUI_PURE_OBJ := $(patsubst %,$(BUILD)/tui/%.o,pane model panes theme domains)
$(BUILD)/tests/test-pane: tests/unit/test-pane.c $(TUI_PURE_OBJ) $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/helper $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(TUI_PURE_OBJ) $(BUILD)/libcore.a $(LIBS) -lcmocka

$(BUILD)/tests/test-%: tests/integ/test-%.c $(HELPER_OBJ) $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/helper $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(HELPER_OBJ) $(BUILD)/libcore.a $(LIBS) -lcmocka

# The dispatcher in-process, as the console runs it: links the commands.
DISPATCH_OBJ := $(filter-out $(BUILD)/cmd/main.o,$(CMD_OBJ)) $(BENCH_OBJ)
$(BUILD)/tests/test-dispatch: tests/integ/test-dispatch.c $(HELPER_OBJ) $(DISPATCH_OBJ) \
		$(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/helper $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(HELPER_OBJ) $(DISPATCH_OBJ) $(BUILD)/libcore.a $(LIBS) -lcmocka

# Small programs the shell tests use: a free port, a JSON checker, the witness
# fixtures, a forger and a filler of the ledger.
TEST_TOOLS := $(BUILD)/tests/freeport $(BUILD)/tests/jsoncheck $(BUILD)/tests/mkledger \
	      $(BUILD)/tests/jcscheck $(BUILD)/tests/rawput \
	      $(BUILD)/tests/forge-ledger $(BUILD)/tests/fill-ledger $(BUILD)/tests/schemacheck \
	      $(BUILD)/tests/loadtasks $(BUILD)/tests/slopub $(BUILD)/tests/chassisbench
$(TEST_TOOLS): $(BUILD)/tests/%: tests/helper/%.c $(HELPER_OBJ) $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itests/helper $(ALL_LDFLAGS) -o $@ $< \
		$(HELPER_OBJ) $(BUILD)/libcore.a $(LIBS)

# The sandbox's fixture programs (tests/cli/t-chassis.sh, bench/bench-chassis.sh):
# WASM modules from WAT, native programs from C, built without sanitizers
# (ASan's shadow memory does not fit under the sandbox's memory limit).
CHASSIS_FIX := $(patsubst fixtures/chassis/%.wat,$(BUILD)/fixtures/chassis/%.wasm,\
	$(wildcard fixtures/chassis/*.wat)) \
	$(patsubst fixtures/chassis/%.c,$(BUILD)/fixtures/chassis/%,$(wildcard fixtures/chassis/*.c))
$(BUILD)/fixtures/chassis/%.wasm: fixtures/chassis/%.wat
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  WAT     $<")
	$(Q)wat2wasm -o $@ $<
$(BUILD)/fixtures/chassis/%: fixtures/chassis/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -O1 -Wall -Werror -o $@ $<
chassis-fixtures: $(CHASSIS_FIX)

# The fuzz targets replayed without libFuzzer: tests/cli/t-fuzz-regress.sh
# feeds them the inputs under fixtures/fuzz/regress/.
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_DRIVERS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz-%)
$(FUZZ_DRIVERS): $(BUILD)/tests/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/driver.c \
		tests/fuzz/fuzz.c $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Itests/fuzz $(ALL_LDFLAGS) -o $@ $< \
		tests/fuzz/driver.c tests/fuzz/fuzz.c $(BUILD)/libcore.a $(LIBS)

# libFuzzer targets: the core built with clang, ASan, UBSan and float-cast
# overflow into build-fuzz/; each target runs FUZZ_SECONDS on a copy of its
# seeds (fixtures/fuzz/<name>/), a crash kept in build-fuzz/crashes/<name>/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RSS_MB  ?= 2048
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := $(WARN) $(PKG_CFLAGS) -O1 -g $(FUZZ_SAN) -MMD -MP
FUZZ_OBJ     := $(CORE_SRC:src/%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/gen/schemas.o
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)

$(FUZZ_BUILD)/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/gen/schemas.o: $(BUILD)/gen/schemas.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(FUZZ_BUILD)/libcore.a: $(FUZZ_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

$(FUZZ_BIN): $(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.c $(FUZZ_BUILD)/libcore.a
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(ALL_CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		tests/fuzz/fuzz.c $(FUZZ_BUILD)/libcore.a $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RSS_MB=$(FUZZ_RSS_MB) FUZZ_ARGS="$(FUZZ_ARGS)" \
		tests/fuzz/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_NAMES)

deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "deps: all $(words $(DEB_PKGS)) packages present"; exit 0; \
	fi; \
	echo "deps: installing$$missing"; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get update -qq && \
	$$sudo apt-get install -y -qq --no-install-recommends $$missing

# nats.js for the protocol's interoperability test (tests/cli/t-interop.sh),
# into tests/interop/node_modules; without the registry the test is skipped
# and says why (tests/interop/npm.log).
deps-node: deps
	@if [ -f tests/interop/node_modules/nats/package.json ]; then :; \
	elif command -v npm >/dev/null; then \
		echo "deps: npm install in tests/interop (nats.js)"; \
		(cd tests/interop && npm install --no-audit --no-fund --no-save >npm.log 2>&1) || \
		echo "deps: npm install failed, t-interop will be skipped: $$(tail -1 tests/interop/npm.log)"; \
	fi

# check and run install what is missing first, then re-read this Makefile
# so that pkg-config sees the freshly installed libraries.
check: deps-node
	$(Q)$(MAKE) --no-print-directory test

test: all $(UNIT_BIN) $(INTEG_BIN) $(TEST_TOOLS) $(FUZZ_DRIVERS) $(CHASSIS_FIX) layering
	$(Q)tests/run-tests $(BUILD)

layering:
	$(Q)tests/layering.sh

# gcc's static analyzer over src/ into build-analyze/: any report fails the
# build (-Werror); each is fixed, or explained in a comment where it stands.
analyze:
	$(Q)$(MAKE) --no-print-directory BUILD=build-analyze CFLAGS='-O1 -g -fanalyzer' all

# The suites where threads meet (watches, the event loop, the coordinator's
# index, the ledger's writers, SLO evaluators and syncs) under ThreadSanitizer, built in build-tsan/.
TSAN_TESTS := test-evloop test-bus test-coord test-ledger test-sloraces test-buswatchexit
check-tsan: deps
	$(Q)$(MAKE) --no-print-directory SANITIZE=thread $(TSAN_TESTS:%=build-tsan/tests/%)
	$(Q)for t in $(TSAN_TESTS); do \
		echo "tsan  $$t"; \
		TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
			build-tsan/tests/$$t || exit 1; \
	done

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(TEST_TOOLS) chassis-fixtures
	$(Q)bench/run $(BUILD)

# A Jepsen-style run on a local 3-node cluster (minutes; not in check):
# CHAOS_SECONDS of faults (default 600) between two quiet minutes.
$(BUILD)/tests/chaos: tests/chaos/chaos.c $(HELPER_OBJ) $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/helper $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(HELPER_OBJ) $(BUILD)/libcore.a $(LIBS)

chaos: deps $(BUILD)/tests/chaos
	$(Q)$(BUILD)/tests/chaos

# A short benchmark compared with bench/baseline-coord.txt (CI runs it).
bench-check: deps
	$(Q)$(MAKE) --no-print-directory all $(TEST_TOOLS)
	$(Q)BUILD=$(BUILD) bash bench/bench-check.sh

# The console over the demo fleet (the demo stops with it); without a
# terminal, the server's status.
run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(IFCTL) up
	$(Q)if [ -t 0 ] && [ -t 1 ]; then \
		$(IFCTL) demo -q >/dev/null 2>&1 & demo=$$!; \
		$(IFCTL) console; st=$$?; \
		kill -TERM $$demo 2>/dev/null; wait $$demo; exit $$st; \
	else $(IFCTL) status; fi

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(DATADIR)/themes $(DESTDIR)$(DATADIR)/schemas \
		$(DESTDIR)$(BASHCOMP) $(DESTDIR)$(ZSHCOMP) $(DESTDIR)$(FISHCOMP)
	install -m 755 $(IFCTL) $(DESTDIR)$(BINDIR)/ifctl
	ln -sf ifctl $(DESTDIR)$(BINDIR)/if
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7
	install -m 644 schemas/*.json $(DESTDIR)$(DATADIR)/schemas
	if ls themes/*.yaml >/dev/null 2>&1; then \
		install -m 644 themes/*.yaml $(DESTDIR)$(DATADIR)/themes; fi
	$(IFCTL) completion bash > $(DESTDIR)$(BASHCOMP)/ifctl
	$(IFCTL) completion zsh > $(DESTDIR)$(ZSHCOMP)/_ifctl
	$(IFCTL) completion fish > $(DESTDIR)$(FISHCOMP)/ifctl.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ifctl $(DESTDIR)$(BINDIR)/if \
		$(DESTDIR)$(BASHCOMP)/ifctl $(DESTDIR)$(ZSHCOMP)/_ifctl \
		$(DESTDIR)$(FISHCOMP)/ifctl.fish
	rm -rf $(DESTDIR)$(DATADIR)
	cd man && for m in *.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	cd man && for m in *.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$$m; done
	cd man && for m in *.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$$m; done

clean:
	rm -rf build build-san build-tsan build-analyze build-clang build-san-clang $(FUZZ_BUILD)

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
