#!/usr/bin/env bash
# Every benchmark in sequence, each printing its table; results in bench/results/*.json.
# `make bench` brings the shared stack up first (write, projector, read and attach use it);
# the pipeline benchmarks (freshness, peers, isolation, cost-curve) share one private native
# stack of their own (own ports and data directory), started here and stopped at the end, so
# they never disturb the shared stack other engineers' tests use.
#
#   bash bench/run.sh                 # all of them, defaults (about 15-20 min on 2 cores)
#   bash bench/run.sh freshness peers # only these (names: write projector decode read attach mysql freshness peers isolation isolation-shared cost-curve)
#   BENCH_LONG=1 bash bench/run.sh    # longer settings: freshness sweep, cost curve until saturated, 5M-line isolation, 1M-row attach
#
#   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" bash bench/run.sh freshness   # profile the sidecar's processes
#
# Each benchmark also runs alone: node --expose-gc --import tsx bench/<name>.ts [options] (see each file's header);
# alone, a pipeline benchmark starts (and removes) a private stack of its own.
set -uo pipefail
cd "$(dirname "$0")/.."
NODE="node --expose-gc --import tsx"
ALL=(write projector decode read attach mysql freshness peers isolation isolation-shared cost-curve)
WANT=("${@:-${ALL[@]}}")
LONG=${BENCH_LONG:-}

# Below 32768: ports in Linux's ephemeral range (32768-60999) can be taken by any outgoing
# connection (56404 was, by a connection to the shared Kafka: "EADDRINUSE" for the write API).
export BENCH_BASE_PORT=${BENCH_BASE_PORT:-26400}
export BENCH_STACK_DIR=${BENCH_STACK_DIR:-$(mktemp -d /tmp/bench-stack-XXXXXX)}
chmod 755 "$BENCH_STACK_DIR"
private_env() {  # the private stack's environment, as bench/lib.ts stackEnv() computes it
  local p=$BENCH_BASE_PORT
  env STACK_DIR="$BENCH_STACK_DIR" PG_PORT=$p KAFKA_PORT=$((p + 1)) KAFKA_CONTROLLER_PORT=$((p + 2)) \
    CONNECT_PORT=$((p + 3)) KAFKA_HEAP="-Xms128m -Xmx512m" CONNECT_HEAP="-Xms128m -Xmx512m" "$@"
}
PRIVATE_STARTED=
cleanup() {
  if [ -n "$PRIVATE_STARTED" ] && [ -z "${BENCH_KEEP_STACK:-}" ]; then
    echo "[bench] stopping the private stack in $BENCH_STACK_DIR"
    private_env bash stack/stack.sh down >/dev/null 2>&1
    rm -rf "$BENCH_STACK_DIR"
  fi
}
trap cleanup EXIT

wants() { local x; for x in "${WANT[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
FAILED=()
bench() {  # bench <name> <command...>
  local name=$1; shift
  wants "$name" || return 0
  echo
  echo "=================== $name  ($(date -u +%H:%M:%S), load average: $(cut -d' ' -f1-3 /proc/loadavg)) ==================="
  local t0=$SECONDS
  if "$@"; then echo "[bench] $name done in $((SECONDS - t0)) s"; else echo "[bench] $name FAILED (exit $?)"; FAILED+=("$name"); fi
}

echo "[bench] machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), node $(node --version), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# On the shared stack (make bench has started it).
bench write $NODE bench/write.ts
bench projector $NODE bench/projector.ts
bench decode $NODE bench/decode.ts
bench read $NODE bench/read.ts
# attach: 1,000,000 rows take ≈ 11 min here (Debezium's snapshot is the bound); 200,000 by default.
if [ -f bench/attach.ts ]; then
  if [ -n "$LONG" ]; then bench attach $NODE bench/attach.ts; else bench attach $NODE bench/attach.ts --rows 200000; fi
fi

# mysql: a 1,000,000-row MariaDB table, snapshot and streaming, next to the same table from Postgres.
[ -f bench/mysql.ts ] && bench mysql $NODE bench/mysql.ts

# On the private stack.
if wants freshness || wants peers || wants isolation || wants isolation-shared || wants cost-curve; then
  echo "[bench] starting the private stack in $BENCH_STACK_DIR (ports $BENCH_BASE_PORT…)"
  PRIVATE_STARTED=1
fi
if [ -n "$LONG" ]; then
  bench freshness $NODE bench/freshness.ts --seconds 60 --sweep --sweep-seconds 30
  bench peers $NODE bench/peers.ts --rows 500000 --fresh-seconds 60
  bench isolation $NODE bench/isolation.ts --seconds 30 --rounds 3 --lines 5000000
  bench isolation-shared $NODE bench/isolation.ts --cpus shared --seconds 30 --rounds 3 --lines 5000000
  bench cost-curve $NODE bench/cost-curve.ts --seconds 30 --until-saturated
else
  bench freshness $NODE bench/freshness.ts --seconds 60
  bench peers $NODE bench/peers.ts
  # The write side on one CPU, the change stream and the read side on the other (as deployed);
  # then every process on both CPUs, where the read side competes with the writes.
  bench isolation $NODE bench/isolation.ts
  bench isolation-shared $NODE bench/isolation.ts --cpus shared
  bench cost-curve $NODE bench/cost-curve.ts
fi

echo
if [ ${#FAILED[@]} -gt 0 ]; then echo "[bench] failed: ${FAILED[*]}"; exit 1; fi
echo "[bench] all done; results in bench/results/"
