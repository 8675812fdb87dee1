# lakesync — one binary, one static library the tests link.
#   make            build build/lakesync
#   make check      install deps, build, run every test (ends with one summary line)
#   make demo       install deps, build, run `lakesync demo`
#   make fuzz       build the libFuzzer targets (clang)
#   make bench      build the benchmarks
# SANITIZE=address,undefined builds everything under the sanitizers into
# build-san/.

CC      ?= cc
PG_INC  := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -D_GNU_SOURCE -Isrc -I$(PG_INC) -MMD -MP
LDLIBS  := -lpq -lzstd -lsnappy -llz4 -lz -lbrotlidec -lbrotlienc \
           -ljansson -lroaring -lpthread -lm

ifdef SANITIZE
BUILD   := build-san
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
else
BUILD   := build
endif

LIB_SRC   := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CLI_SRC   := $(wildcard src/cli/*.c)
UNIT_SRC  := $(wildcard tests/unit/*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC := $(wildcard bench/*.c)

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/liblakesync.a
BIN       := $(BUILD)/lakesync
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/tests/replay_%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps check demo fuzz bench clean tests
all: $(BIN)

deps:
	@scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

# One Criterion binary per tests/unit/test_<module>.c
$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) -lcriterion $(LDLIBS)

# Replay drivers: the fuzz target + a main() that runs it over the corpus.
$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/fuzz/replay.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

tests: $(BIN) $(UNIT_BIN) $(REPLAY_BIN)

check: deps
	$(MAKE) -j$$(nproc) tests
	@BUILD=$(BUILD) tests/run-all.sh

demo: deps
	$(MAKE) $(BIN)
	$(BIN) demo

# libFuzzer targets (clang), e.g. build-fuzz/fuzz_parquet; run with
#   build-fuzz/fuzz_parquet tests/fuzz/corpus/parquet -max_total_time=600
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -Isrc -I$(PG_INC)
fuzz: $(FUZZ_SRC:tests/fuzz/fuzz_%.c=build-fuzz/fuzz_%)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)

bench: $(BENCH_BIN) $(BIN)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
