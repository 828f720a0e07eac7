# sealbox: the short commands. Everything real happens in CMake/ctest and scripts/.
BUILD      ?= build/release
TESTBUILD  ?= build/asan
FUZZBUILD  ?= build/fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps build demo test test-build test-v2 bench fuzz lint format clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test-build: deps
	@cmake -S . -B $(TESTBUILD) -DSB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	  -DSB_RELEASE_DIR=$(abspath $(BUILD)) >/dev/null
	@cmake --build $(TESTBUILD) -j $(JOBS)

# The release build is compiled too: gcc warns differently without ASan, and `make demo` uses it.
test: build test-build
	@scripts/npm-peers.sh tests/mcp tests/api
	@cd $(TESTBUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Pure cgroup v2 in a QEMU/TCG guest (Debian's kernel, cgroup_no_v1=all); ctest runs it too.
test-v2: build
	@scripts/test-v2.sh $(BUILD)

bench: build
	@scripts/npm-peers.sh tests/mcp
	@scripts/bench.sh $(BUILD)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZBUILD) -DSB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZBUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	@scripts/fuzz.sh $(FUZZBUILD) $(FUZZ_SECONDS)

lint: deps
	@scripts/lint.sh

format:
	@git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.c' | xargs clang-format -i

clean:
	rm -rf build
