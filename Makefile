# usernode: one binary, ./usernode. Objects go to $(BUILD)/, never next to the sources.
#
#   make            build ./usernode
#   make check      install what is missing (as root), build, run every test, print "N passed, N failed"
#   make asan       the same tests under AddressSanitizer + UBSan
#   make lint       the include layering, clang-format --dry-run, cppcheck, and shellcheck's bats checks
#   make fuzz       libFuzzer targets (clang, ASan+UBSan) from tests/fuzz, FUZZ_SECONDS each (60), FUZZ_JOBS at a time (nproc)
#   make bench      scripts/bench/*.sh, one table of ratios against the tools a user would otherwise pick
#   make check-vm   the cgroup v2 / systemd tests in a qemu VM (tests/vm)
#   make check-build  the Makefile as packagers use it (tests/build: flags, install)
#   make install    PREFIX=/usr/local DESTDIR= (the binary; BINDIR overrides PREFIX/bin)

BUILD ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DESTDIR ?=

# Every library through pkg-config. libsubid (shadow, no .pc file) is not linked: only its header
# is needed, a child opens it for the id lookup (launcher/idmap_libsubid.c). pkg-config's own
# message (which package is missing, PKG_CONFIG_PATH) is shown, and the build stops there.
# libseccomp is needed by the build only: the engine's filter is compiled by a program run here
# (netns/engine_filter_gen.c), and a test helper links it; no program of usernode maps it.
PKGS := slirp glib-2.0 libsystemd libcap libmnl libnftnl json-c libcurl openssl yaml-0.1
# Goals that compile nothing here do not ask pkg-config: `make check` and `make asan` install
# the libraries first (scripts/check.sh) and build in a make of their own, so on a new machine
# they must not stop at a library they are about to install.
NO_LIBRARY_GOALS := check asan lint clean uninstall check-build
ifneq ($(filter-out $(NO_LIBRARY_GOALS),$(or $(MAKECMDGOALS),all)),)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libseccomp)
ifneq ($(.SHELLSTATUS),0)
$(error pkg-config found no $(PKGS) libseccomp (above: what is missing); 'sudo scripts/install-deps.sh' installs them)
endif
# libsystemd is for its headers only: no program links it. The D-Bus calls of a start open it
# and close it before the node init is cloned (cgroup/sd_bus_dl.c), a service's child opens it
# for its journal stream before exec; the event loop and sd_notify are usernode's own
# (common/event_loop.h, common/notify.h). Linked, it and five libraries it needs stayed mapped in
# the launcher and the node init (docs/DESIGN.md, issue 11). dlopen is in libc (glibc >= 2.34).
PKG_LIBS := $(filter-out -lsystemd,$(shell pkg-config --libs $(PKGS)))
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp)
# The programs take only the libraries they call (the launcher does not map libslirp, the engine
# not libcurl or OpenSSL): what each maps is its idle memory.
AS_NEEDED := -Wl,--as-needed
# glib is linked into the launcher and the cluster program from its static archive (GLIB_STATIC=0
# links the shared library, as a distribution may prefer): they call its shell-word splitter and
# hash tables, and the shared library costs every process that maps it its own and libpcre2's
# and libm's relocations and fault-around pages (docs/DESIGN.md, issue 11). The engine keeps the
# shared glib, which libslirp needs.
GLIB_STATIC ?= 1
ifeq ($(GLIB_STATIC),1)
GLIB_LIBS := -Wl,-Bstatic -lglib-2.0 -Wl,-Bdynamic \
	$(filter-out -lglib-2.0,$(shell pkg-config --libs --static glib-2.0))
else
GLIB_LIBS := $(shell pkg-config --libs glib-2.0)
endif
endif
LAUNCHER_LIBS := $(filter-out -lglib-2.0 -lslirp,$(PKG_LIBS)) $(GLIB_LIBS)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

# The version: `git describe` of the tree built, "0.1.0-g<hash>" before the first tag.
VERSION ?= $(shell v=$$(git describe --tags --dirty 2>/dev/null) && echo "$$v" || \
	(h=$$(git describe --always --dirty 2>/dev/null) && echo "0.1.0-g$$h") || echo 0.1.0)

# CPPFLAGS, CFLAGS and LDFLAGS are the user's (dpkg-buildflags sets all three): added to, never
# replaced. -Werror only for the tests (make check, CI): a newer compiler's new warning must not
# break a user's build.
OPTFLAGS ?= -O2 -g
SANITIZE ?=
CFLAGS ?= $(OPTFLAGS)
WERROR ?=
USERNODE_CPPFLAGS := -D_GNU_SOURCE -I.
USERNODE_CFLAGS = -std=gnu11 -Wall -Wextra $(WERROR) $(PKG_CFLAGS) $(SANITIZE) -MMD -MP
# Bound at load (-z now): the node init, a fork of the launcher, then resolves no symbol in its
# own pages (docs/DESIGN.md, issue 11), and the GOT is read-only.
USERNODE_LDFLAGS = $(SANITIZE) -Wl,-z,relro,-z,now

MODULE_DIRS := common cgroup netns launcher launcher/config launcher/api launcher/services \
	launcher/node launcher/check launcher/cluster launcher/cli
MODULE_SRCS := $(sort $(foreach d,$(MODULE_DIRS),$(wildcard $(d)/*.c)))
# netns/engine_main.c is main() of the slirp engine program, usernode-slirp (netns/engine_exec.h);
# launcher/cluster/cluster_main.c that of the cluster program, usernode-cluster
# (launcher/cluster/cluster_exec.h); launcher/services/oci_runtime_main.c that of the OCI runtime
# wrapper, usernode-oci-runtime.
# netns/engine_filter_gen.c is the build-time generator of the engine's seccomp filter.
LIB_SRCS := $(filter-out launcher/cli/main.c netns/engine_main.c launcher/cluster/cluster_main.c \
	launcher/services/oci_runtime_main.c netns/engine_filter_gen.c,$(MODULE_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)
HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
C_FILES := $(MODULE_SRCS) $(UNIT_SRCS) $(HELPER_SRCS) $(FUZZ_SRCS) $(foreach d,$(MODULE_DIRS),$(wildcard $(d)/*.h)) $(wildcard tests/unit/*.h)
# Every bats file: shellcheck's checks of bats (SC2314, SC2315: a `!` that is not a test's last
# command cannot fail it; `run !` can).
BATS_FILES := $(sort $(wildcard tests/*/*.bats tests/vm/guest/*.bats))

PROGRAM ?= usernode

.PHONY: all tests check asan lint bench check-vm check-build clean install uninstall fuzz fuzz-build
all: $(PROGRAM)

$(PROGRAM): $(BUILD)/launcher/cli/main.o $(BUILD)/libusernode.a
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(AS_NEEDED) $(LAUNCHER_LIBS)

# The slirp engine, a program of its own that the launcher carries inside it and execs from a
# memfd (launcher/engine_spawn.c). Only netns/ and common/ (the layering keeps it so); embedded
# without its debug sections.
ENGINE_OBJS := $(filter $(BUILD)/netns/% $(BUILD)/common/%,$(LIB_OBJS))
STRIP ?= strip
$(BUILD)/usernode-slirp: $(BUILD)/netns/engine_main.o $(BUILD)/libengine.a
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(AS_NEEDED) $(PKG_LIBS)
$(BUILD)/usernode-slirp.embed: $(BUILD)/usernode-slirp
	$(STRIP) --strip-debug -o $@ $<
$(BUILD)/libengine.a: $(ENGINE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# The engine's seccomp filter, a BPF program built once here with libseccomp and embedded in the
# engine with .incbin (netns/engine_sandbox.c). The generator is compiled by $(CC) like the
# engine, so the filter is for the engine's architecture; a cross compiler's generator cannot run
# here, and the build stops rather than embed a filter for another one.
ENGINE_FILTER := $(BUILD)/engine-filter.bpf
$(BUILD)/engine-filter-gen: $(BUILD)/netns/engine_filter_gen.o
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(SECCOMP_LIBS)
$(ENGINE_FILTER): $(BUILD)/engine-filter-gen
	@$(abspath $<) $@.tmp || { rm -f $@.tmp; echo "$< failed; if it could not run at all, $(CC) builds for another machine: cross-compiling is not supported (the engine's seccomp filter is made by running this program)" >&2; exit 1; }
	@mv $@.tmp $@
$(BUILD)/netns/engine_sandbox.o: $(ENGINE_FILTER)
$(BUILD)/netns/engine_sandbox.o: private USERNODE_CPPFLAGS += -DUSERNODE_ENGINE_FILTER='"$(ENGINE_FILTER)"'

# The cluster program: everything of a joined node that speaks HTTPS, X.509 or YAML, so that only
# it maps libcurl, OpenSSL and libyaml. Carried and exec'd like the engine
# (launcher/cluster_spawn.c); linked from the objects of the launcher's library but the ones that
# embed and start it, of which the archive gives it only what it calls.
CLUSTER_OBJS := $(filter-out $(BUILD)/launcher/cluster_spawn.o $(BUILD)/launcher/config/embedded_programs.o,$(LIB_OBJS))
$(BUILD)/usernode-cluster: $(BUILD)/launcher/cluster/cluster_main.o $(BUILD)/libcluster.a
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(AS_NEEDED) $(LAUNCHER_LIBS)
$(BUILD)/usernode-cluster.embed: $(BUILD)/usernode-cluster
	$(STRIP) --strip-debug -o $@ $<
$(BUILD)/libcluster.a: $(CLUSTER_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libusernode.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(USERNODE_CPPFLAGS) $(CPPFLAGS) $(USERNODE_CFLAGS) $(CFLAGS) -c -o $@ $<

# Rebuilt when the version changes (a new commit), not on every make.
$(BUILD)/version.h: FORCE
	@mkdir -p $(@D)
	@echo '#define USERNODE_VERSION "$(VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/launcher/cli/main.o: $(BUILD)/version.h
$(BUILD)/launcher/cli/main.o: USERNODE_CPPFLAGS += -include $(BUILD)/version.h
.PHONY: FORCE

# The OCI runtime wrapper CRI-O runs for every container call: a small binary of its own, libc
# and json-c only (static unless sanitized), embedded in usernode with .incbin
# (launcher/services/oci_runtime_install.c writes it to STATE/oci-runtime/).
OCI_WRAPPER := $(BUILD)/usernode-oci-runtime
OCI_WRAPPER_OBJS := $(addprefix $(BUILD)/,launcher/services/oci_runtime_main.o \
	launcher/services/oci_runtime.o launcher/services/oci_spec_fixup.o common/fileio.o common/log.o)
OCI_WRAPPER_STATIC := $(if $(SANITIZE),,-static)
$(OCI_WRAPPER): $(OCI_WRAPPER_OBJS)
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) $(OCI_WRAPPER_STATIC) -s -o $@ $^ \
		$(shell pkg-config --libs $(if $(OCI_WRAPPER_STATIC),--static) json-c)

# The three programs, .incbin'd side by side into one section (launcher/config/embedded_programs.c).
EMBEDDED_PROGRAMS := $(BUILD)/usernode-slirp.embed $(BUILD)/usernode-cluster.embed $(OCI_WRAPPER)
$(BUILD)/launcher/config/embedded_programs.o: $(EMBEDDED_PROGRAMS)
$(BUILD)/launcher/config/embedded_programs.o: private USERNODE_CPPFLAGS += \
	-DUSERNODE_ENGINE_PROGRAM='"$(BUILD)/usernode-slirp.embed"' \
	-DUSERNODE_CLUSTER_PROGRAM='"$(BUILD)/usernode-cluster.embed"' -DUSERNODE_OCI_WRAPPER='"$(OCI_WRAPPER)"'

# The default configuration is embedded with .incbin: the binary carries configs/ with it.
$(BUILD)/launcher/config/embedded_files.o: $(wildcard configs/*)

$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libusernode.a
	@mkdir -p $(@D)
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/helpers/%: $(BUILD)/tests/helpers/%.o $(BUILD)/libusernode.a
	@mkdir -p $(@D)
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(SECCOMP_LIBS)

# What make check and CI build: warnings are errors here.
tests: WERROR = -Werror
tests: $(PROGRAM) $(UNIT_BINS) $(HELPER_BINS)

# Built by scripts/fuzz.sh with BUILD=build-fuzz CC=clang and the fuzzer's sanitizers.
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/libusernode.a
	@mkdir -p $(@D)
	$(CC) $(USERNODE_LDFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz:
	scripts/fuzz.sh

# Completion and man pages are generated by the binary from its own option tables, help texts
# and configuration schema (so not when cross-building).
install: $(PROGRAM)
	install -D -m 0755 $(PROGRAM) $(DESTDIR)$(BINDIR)/usernode
	@mkdir -p $(BUILD)
	$(abspath $(PROGRAM)) completion bash > $(BUILD)/usernode.bash
	$(abspath $(PROGRAM)) completion zsh > $(BUILD)/_usernode
	install -D -m 0644 $(BUILD)/usernode.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/usernode
	install -D -m 0644 $(BUILD)/_usernode $(DESTDIR)$(DATADIR)/zsh/site-functions/_usernode
	$(abspath $(PROGRAM)) manpage usernode.1 > $(BUILD)/usernode.1
	$(abspath $(PROGRAM)) manpage usernode.ini.5 > $(BUILD)/usernode.ini.5
	install -D -m 0644 $(BUILD)/usernode.1 $(DESTDIR)$(MANDIR)/man1/usernode.1
	install -D -m 0644 $(BUILD)/usernode.ini.5 $(DESTDIR)$(MANDIR)/man5/usernode.ini.5

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/usernode $(DESTDIR)$(DATADIR)/bash-completion/completions/usernode \
		$(DESTDIR)$(DATADIR)/zsh/site-functions/_usernode $(DESTDIR)$(MANDIR)/man1/usernode.1 \
		$(DESTDIR)$(MANDIR)/man5/usernode.ini.5

check:
	scripts/check.sh

asan:
	scripts/check.sh --asan

lint:
	scripts/check-layering.sh
	clang-format --dry-run --Werror $(C_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem --std=c11 -D_GNU_SOURCE -I. \
		$(MODULE_SRCS) $(HELPER_SRCS)
	shellcheck --include=SC2314,SC2315 $(BATS_FILES)

bench: $(PROGRAM)
	scripts/bench/run.sh

check-build:
	bats tests/build

check-vm: $(PROGRAM)
	tests/vm/run.sh

clean:
	rm -rf build build-asan build-fuzz usernode usernode-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
