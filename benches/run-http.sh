#!/usr/bin/env bash
# hyper's HTTP/1.1 plaintext route ("Hello, World!") on ringlet (the http-server example)
# against the same hyper service on tokio (benches/src/bin/hyper-tokio.rs), driven by wrk
# at 1 and all workers, 50 and 500 connections. Repetitions are interleaved (every
# server in every configuration, then again), each run on a fresh server process after
# a 1-second warm-up. Writes docs/benchmarks-http.md.
#
#   benches/run-http.sh [REPS] [SECONDS]     (default 3 repetitions of 10 seconds)
#
# With 1 worker the server is pinned to CPU 0 and wrk (one thread) to CPU 1; with all
# workers both share every CPU. Installs wrk and taskset with apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
secs=${2:-10}
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p ringlet-benches -p ringlet-examples --bins

cpus=$(nproc)
all=$cpus
results=$(mktemp)
trap 'rm -f "$results"; pkill -f "target/release/(http-server|hyper-tokio)" || true' EXIT

# start_server NAME WORKERS -> sets $pid and $addr
start_server() {
    local name=$1 workers=$2 out
    out=$(mktemp)
    local pin=()
    if ((workers == 1)); then pin=(taskset -c 0); fi
    case $name in
        ringlet) "${pin[@]}" target/release/http-server --addr 127.0.0.1:0 --workers "$workers" >"$out" 2>/dev/null & ;;
        tokio-ct) "${pin[@]}" target/release/hyper-tokio --addr 127.0.0.1:0 --workers "$workers" --mode current-thread >"$out" 2>/dev/null & ;;
        tokio-mt) "${pin[@]}" target/release/hyper-tokio --addr 127.0.0.1:0 --workers "$workers" --mode multi-thread >"$out" 2>/dev/null & ;;
    esac
    pid=$!
    for _ in $(seq 100); do
        addr=$(sed -n 's/^listening on //p' "$out")
        [[ -n $addr ]] && break
        sleep 0.05
    done
    rm -f "$out"
    [[ -n $addr ]] || { echo "run-http: $name did not start" >&2; exit 1; }
}

# run_wrk WORKERS CONNS SECONDS -> prints "REQS_PER_SEC P50_US P99_US ERRORS"
run_wrk() {
    local workers=$1 conns=$2 secs=$3 pin=() threads=$all
    if ((workers == 1)); then pin=(taskset -c 1); threads=1; fi
    "${pin[@]}" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "http://$addr/" | awk '
        function us(v) {
            if (v ~ /us$/) return v + 0;
            if (v ~ /ms$/) return (v + 0) * 1000;
            if (v ~ /s$/) return (v + 0) * 1000000;
            return v + 0;
        }
        /^ +50%/ { p50 = us($2) }
        /^ +99%/ { p99 = us($2) }
        /Socket errors/ {
            gsub(",", ""); errors = $4 + $6 + $8 + $10
        }
        /Non-2xx/ { errors += $5 }
        /^Requests\/sec/ { rps = $2 }
        END { printf "%.0f %.0f %.0f %d\n", rps, p50, p99, errors + 0 }'
}

configs=()
for workers in 1 "$all"; do
    for conns in 50 500; do
        servers="ringlet tokio-ct"
        ((workers > 1)) && servers="ringlet tokio-ct tokio-mt"
        for server in $servers; do configs+=("$workers $conns $server"); done
    done
done

for rep in $(seq "$reps"); do
    for config in "${configs[@]}"; do
        read -r workers conns server <<<"$config"
        start_server "$server" "$workers"
        run_wrk "$workers" "$conns" 1 >/dev/null
        line=$(run_wrk "$workers" "$conns" "$secs")
        kill "$pid"; wait "$pid" 2>/dev/null || true
        echo "$workers $conns $server $rep $line" | tee -a "$results"
    done
done

# Median per (workers, conns, server); ratios against tokio-ct of the same repetition.
out=docs/benchmarks-http.md
{
    echo "# hyper plaintext: ringlet vs tokio (wrk)"
    echo
    echo "Written by \`benches/run-http.sh $reps $secs\` on $(nproc) CPUs, $(uname -sr), $(date -u +%Y-%m-%d)."
    echo "hyper 1.x HTTP/1.1, \`GET /\` answering \`Hello, World!\` with the same service code on"
    echo "both runtimes; wrk with keep-alive connections; median of $reps interleaved runs of ${secs} s."
    echo "With 1 worker the server is pinned to CPU 0 and wrk to CPU 1; with $all workers they share."
    echo
    echo "| workers | conns | server | requests/s | p50 µs | p99 µs | socket errors | vs tokio-ct (paired median) |"
    echo "|---:|---:|---|---:|---:|---:|---:|---:|"
    awk '
        { key = $1 " " $2 " " $3; n[key]++; rps[key, n[key]] = $5; p50[key, n[key]] = $6;
          p99[key, n[key]] = $7; err[key] += $8; order[key] = NR
          byrep[$1 " " $2 " " $3 " " $4] = $5 }
        function median(arr, key, count,    i, j, t, v) {
            for (i = 1; i <= count; i++) v[i] = arr[key, i];
            for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++)
                if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return v[int((count + 1) / 2)];
        }
        END {
            for (key in n) keys[order[key]] = key;
            for (i = 1; i <= NR; i++) {
                if (!(i in keys)) continue;
                key = keys[i]; split(key, f, " ");
                ratio = "";
                if (f[3] != "tokio-ct") {
                    m = 0; delete ratios;
                    for (r = 1; r <= n[key]; r++) {
                        base = byrep[f[1] " " f[2] " tokio-ct " r];
                        if (base > 0) ratios[++m] = byrep[f[1] " " f[2] " " f[3] " " r] / base;
                    }
                    for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++)
                        if (ratios[b] < ratios[a]) { t = ratios[a]; ratios[a] = ratios[b]; ratios[b] = t }
                    if (m > 0) ratio = sprintf("%.2fx", ratios[int((m + 1) / 2)]);
                }
                printf "| %s | %s | %s | %d | %d | %d | %d | %s |\n", f[1], f[2], f[3],
                    median(rps, key, n[key]), median(p50, key, n[key]), median(p99, key, n[key]),
                    err[key], ratio;
            }
        }' "$results"
    echo
    echo "Raw runs (workers conns server rep requests/s p50-µs p99-µs errors):"
    echo
    echo '```'
    cat "$results"
    echo '```'
} >"$out"
echo "wrote $out"
