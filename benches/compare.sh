#!/usr/bin/env bash
# A/B comparison of echo servers under the same load, for measuring one lever at a time:
#
#   benches/compare.sh CONNS SIZE REPS SECONDS 'SERVER A' 'SERVER B' ...
#   benches/compare.sh 50 65536 4 3 'echo-server' 'echo-server --no-recv-bundles'
#
# Each SERVER is a binary in target/release with its arguments (one worker is the
# caller's to ask for; `echo-server` gets `--workers 1` added). Runs are interleaved
# (A B A B ...), the server pinned to CPU 0 and ringlet-load to CPU 1. Prints each run
# (msgs/s, p50/p99 µs, server CPU µs per echoed message from /proc schedstat), then the
# median of each server. Build first: cargo build --release -p ringlet-benches -p
# ringlet-examples --bins. Needs taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# < 5)); then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
conns=$1 size=$2 reps=$3 secs=$4
shift 4
bin=target/release
ulimit -n "$(ulimit -Hn)"
cpu_ns() {
    local total=0 t
    for t in /proc/"$1"/task/*/schedstat; do
        total=$((total + $(cut -d' ' -f1 "$t" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for rep in $(seq 1 "$reps"); do
    for server in "$@"; do
        read -r name args <<<"$server"
        [[ $name == echo-server && $args != *--workers* ]] && args="--workers 1 $args"
        port=$((20000 + RANDOM % 20000))
        log=$(mktemp)
        # shellcheck disable=SC2086 # the server's arguments are split on purpose
        taskset -c 0 "$bin/$name" $args --addr 127.0.0.1:$port >"$log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
        before=$(cpu_ns $pid)
        out=$(taskset -c 1 "$bin/ringlet-load" --addr 127.0.0.1:$port --connections "$conns" \
            --size "$size" --duration "$secs" --warmup 0.5)
        after=$(cpu_ns $pid)
        kill -INT $pid 2>/dev/null || true
        sleep 0.1
        kill -KILL $pid 2>/dev/null || true
        wait $pid 2>/dev/null || true
        rm -f "$log"
        total=$(field "$out" total_messages)
        cpu=$(awk -v a="$before" -v b="$after" -v n="$total" 'BEGIN { printf "%.3f", (b - a) / 1000 / n }')
        printf '%s\t%s\t%s\t%s\t%s\n' "$server" "$(field "$out" messages_per_sec)" \
            "$(field "$out" p50_us)" "$(field "$out" p99_us)" "$cpu" | tee -a "$results"
        sleep 0.3
    done
done
echo "medians over $reps runs ($conns connections, $size B):"
for server in "$@"; do
    awk -F'\t' -v s="$server" 'BEGIN { n = 0 } $1 == s { r[n] = $2; l[n] = $4; c[n++] = $5 }
        function med(a,  i, j, t) {
            for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n % 2 ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
        }
        END { printf "%-40s msgs/s %9.0f  p99 %8.1f us  cpu/msg %8.3f us\n", s, med(r), med(l), med(c) }' "$results"
done
