# tandem's front door.
#   make lab    installs what is missing, builds (release), runs tandem-lab   (LAB_ARGS='primes --json')
#   make test   installs what is missing, builds, runs the test suite         (PRESET=asan|tsan|debug)
#   make bench  builds (release) and runs the benchmarks beside the Python peers, printing ratios
#   make deps   installs the Debian packages that are missing (idempotent; quiet when all are there)
#   make deps-bench  the same for what only `make bench` needs (BENCH_DEPS), after deps
PRESET ?= release
LAB_ARGS ?=
DEPS := cmake ninja-build g++ make python3 time libgtest-dev libgmock-dev libbenchmark-dev \
        libtbb-dev libxxhash-dev libcli11-dev libfmt-dev nlohmann-json3-dev \
        libcurl4-openssl-dev libhttp-parser-dev nginx openssl
# Only `make bench` needs these (the event-loop peers: Asio, Boost.Fiber, uvloop; W9's nginx, wrk
# and Python HTTP clients); kept out of DEPS so that `make test` and CI do not install them.
BENCH_DEPS := libasio-dev libboost-fiber-dev libboost-context-dev python3-uvloop \
              libcereal-dev libmsgpack-cxx-dev nginx wrk python3-aiohttp python3-tornado \
              python3-pycurl

.PHONY: deps deps-bench build lab test bench clean

deps:
	@missing=""; \
	for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The same as deps, for BENCH_DEPS.
deps-bench: deps
	@missing=""; \
	for p in $(BENCH_DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps-bench: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET)

lab: PRESET = release
lab: build
	./build/release/apps/lab/tandem-lab $(LAB_ARGS)

# The event-loop tests run again with the loop's debug mode, which shuffles the ready queue with a
# fixed seed: code and tests must not depend on scheduling order (issue 3). A failing seed is
# replayed with TANDEM_AIO_DEBUG=1 TANDEM_AIO_SEED=<seed>.
AIO_SEEDS ?= 1 2 3
test: build
	ctest --preset $(PRESET)
	@for s in $(AIO_SEEDS); do \
	  echo "aio tests, ready queue shuffled with TANDEM_AIO_SEED=$$s"; \
	  TANDEM_AIO_DEBUG=1 TANDEM_AIO_SEED=$$s ctest --preset $(PRESET) -L aio || exit 1; \
	done

bench: PRESET = release
bench: deps-bench build
	bench/run.sh build/release

clean:
	rm -rf build
