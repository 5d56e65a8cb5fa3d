# usernode: one binary, ./usernode. Objects go to $(BUILD)/, never next to the sources.
#
#   make            build ./usernode
#   make check      install what is missing (as root), build, run every test, print "N passed, N failed"
#   make asan       the same tests under AddressSanitizer + UBSan
#   make lint       the include layering, clang-format --dry-run and cppcheck
#   make bench      scripts/bench/*.sh, one table of ratios against the tools a user would otherwise pick
#   make check-vm   the cgroup v2 / systemd tests in a qemu VM (tests/vm)

BUILD ?= build
PKGS := slirp libsystemd libcap libseccomp libmnl json-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -liniparser -lsubid

OPTFLAGS ?= -O2 -g
SANITIZE ?=
CFLAGS ?= $(OPTFLAGS)
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -I/usr/include/iniparser \
	$(PKG_CFLAGS) $(SANITIZE) -MMD -MP
override LDFLAGS += $(SANITIZE)

MODULE_DIRS := common cgroup netns launcher launcher/config launcher/api launcher/services \
	launcher/node launcher/cli
MODULE_SRCS := $(sort $(foreach d,$(MODULE_DIRS),$(wildcard $(d)/*.c)))
LIB_SRCS := $(filter-out launcher/cli/main.c,$(MODULE_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)
HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)
C_FILES := $(MODULE_SRCS) $(UNIT_SRCS) $(HELPER_SRCS) $(foreach d,$(MODULE_DIRS),$(wildcard $(d)/*.h)) $(wildcard tests/unit/*.h)

PROGRAM ?= usernode

.PHONY: all tests check asan lint bench check-vm clean
all: $(PROGRAM)

$(PROGRAM): $(BUILD)/launcher/cli/main.o $(BUILD)/libusernode.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/libusernode.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# The default configuration is embedded with .incbin: the binary carries configs/ with it.
$(BUILD)/launcher/config/embedded_files.o: $(wildcard configs/*)

$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libusernode.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

$(BUILD)/helpers/%: $(BUILD)/tests/helpers/%.o $(BUILD)/libusernode.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

tests: $(PROGRAM) $(UNIT_BINS) $(HELPER_BINS)

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

bench: $(PROGRAM)
	scripts/bench/run.sh

check-vm: $(PROGRAM)
	tests/vm/run.sh

clean:
	rm -rf build build-asan usernode usernode-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
