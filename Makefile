# SPDX-License-Identifier: MIT
# Gespann build. Every output goes under build/.
#   make              build build/gespann
#   make run          install deps, build, run with the embedded default config
#   make test         install deps, build, unit tests, ASan/UBSan build, kernel e2e tests
#   make unit         unit tests only (no root, no BPF)
#   make bench        side-by-side benchmarks
#   make check        clang-format, banned functions
#   make deps         install missing Debian packages
#   make check-prereqs  kernel feature table

VERSION    ?= 0.1.0
BUILD      ?= build
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
PKGS       := libbpf yaml-0.1 libmicrohttpd
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -lyaml -lmicrohttpd)
WARN       := -Wall -Wextra -Wshadow -Wno-unused-parameter
CFLAGS     ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -DGESPANN_VERSION='"$(VERSION)"' \
              -I$(BUILD) -Isrc $(PKG_CFLAGS)
LDLIBS     += $(PKG_LIBS) -lelf -lz -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function -mcpu=v3 \
              -I$(BUILD) -Isrc -Isrc/bpf/lib

BPF_SRCS   := $(wildcard src/bpf/*.bpf.c)
BPF_OBJS   := $(patsubst src/bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst src/bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Library part: everything but main.c; unit tests link against it.
LIB_SRCS   := $(filter-out src/main.c,$(wildcard src/*.c src/exporters/*.c))
LIB_OBJS   := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TOOL_SRCS  := $(wildcard tests/lib/*.c bench/*.c)
TOOL_BINS  := $(patsubst %.c,$(BUILD)/tools/%,$(notdir $(TOOL_SRCS)))

.PHONY: all run test unit asan bench check format deps check-prereqs clean tools
all: $(BUILD)/gespann tools

deps:
	@scripts/install-deps.sh

check-prereqs:
	@scripts/check-prereqs.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	scripts/gen-vmlinux.sh $@

$(BUILD)/bpf/%.bpf.o: src/bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard src/abi/*.h src/bpf/lib/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: src/%.c $(SKELS) $(wildcard src/*.h src/abi/*.h src/exporters/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libgespann.a: $(LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/gespann: $(BUILD)/obj/main.o $(BUILD)/libgespann.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgespann.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libgespann.a $(LDLIBS) -lcmocka

tools: $(TOOL_BINS)
$(BUILD)/tools/%: tests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lpthread
$(BUILD)/tools/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# The same daemon built with AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=$(BUILD)/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" $(BUILD)/asan/gespann

# The whole suite: unit tests, kernel end-to-end scenarios, ASan/UBSan runs.
test: deps
	$(MAKE) all asan $(UNIT_BINS)
	tests/run.sh

run: deps
	$(MAKE) all
	$(BUILD)/gespann $(ARGS)

bench: deps
	$(MAKE) all
	bench/run.sh

check:
	scripts/check-style.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')

clean:
	rm -rf $(BUILD)
