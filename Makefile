# The two set-up commands (`make run`, `make test`) and their friends. Every target first installs
# whatever Debian packages are missing, then configures and builds into build/ (Release).
JOBS   := $(shell nproc)
CMAKE  ?= cmake
CTEST  ?= ctest

.PHONY: all deps build run test bench test-tsan test-asan format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build build -j$(JOBS)

run: build
	build/bin/ringcastd

# Plain ctest skips benchmarks (label `bench`; the quick `bench_smoke` runs stay in).
test: build
	$(CTEST) --test-dir build --output-on-failure -LE '^bench$$'

# The benchmarks: the core against its peers, the cost of metrics, and the end-to-end suite
# (bench/run_suite.sh: JSON and PNG plots in bench/out/suite), then the ten-minute memory soak
# (`make test` runs it for under a minute). Needs an otherwise idle machine.
bench: build
	@scripts/install-deps.sh --bench
	build/bin/ringcast-core-bench --scenario=all --format=table
	build/bin/ringcast-metrics-bench --rounds=15 --events=5000000 --format=table
	bench/run_suite.sh bench/out/suite
	bench/run_targets.sh bench/out/targets
	@py=$$(for p in /usr/bin/python3 python3; do $$p -c 'import grpc, google.protobuf' 2>/dev/null && { echo $$p; break; }; done); \
	  $$py tests/soak/memory_soak_test.py build/bin/ringcastd --duration=600

# The core, the server's gRPC-free topic component and every stress test under ThreadSanitizer.
# The gRPC layer is left out: Debian's gRPC is not built with TSan, so every hand-off inside it
# would be reported (and run 100x slower); its tests run under AddressSanitizer instead. The topic
# and stress binaries link no gRPC (tests/stress/ldd_check.sh checks).
test-tsan: deps
	$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGCAST_SANITIZER=thread \
	  -DRINGCAST_BUILD_BENCH=OFF -DRINGCAST_BUILD_EXAMPLES=OFF -DRINGCAST_BUILD_SERVER=OFF
	$(CMAKE) --build build-tsan -j$(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  $(CTEST) --test-dir build-tsan --output-on-failure -L 'core|storage|topic|security|stress'

# Everything else under AddressSanitizer + UndefinedBehaviorSanitizer. A Debug build, so the debug
# checks (RINGCAST_DCHECK, such as the single-producer misuse check) run too. Tests labelled `rss`
# assert the server's resident memory against its budgets, which only the production allocator
# can meet (ASan's quarantine and shadow memory add hundreds of MiB): they run in `make test`.
test-asan: deps
	$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRINGCAST_SANITIZER=address \
	  -DRINGCAST_BUILD_BENCH=OFF
	$(CMAKE) --build build-asan -j$(JOBS)
	ASAN_OPTIONS="detect_leaks=1 abort_on_error=1" UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" \
	  $(CTEST) --test-dir build-asan --output-on-failure -LE '^(bench|rss)$$'

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-tsan build-asan
