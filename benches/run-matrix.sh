#!/usr/bin/env bash
# Builds the servers and the load generator, then runs the echo benchmark matrix and the
# efficiency measurements, and writes docs/benchmarks-matrix.md, docs/echo-throughput.svg
# and docs/echo-cpu-per-message.svg. Extra arguments go to bench-matrix (e.g. `--reps 1
# --duration 1` for a quick look). Needs taskset and strace; installs them with apt when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v taskset >/dev/null || missing+=(util-linux)
command -v strace >/dev/null || missing+=(strace)
if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi
# 10,000 idle connections need more descriptors than the usual soft limit.
ulimit -n "$(ulimit -Hn)"
cargo build --release -p ringlet-benches -p ringlet-examples --bins
# The peers (monoio, compio) are a workspace of their own; their binaries land beside ours.
cargo build --release --manifest-path benches/peers/Cargo.toml --target-dir target
exec target/release/bench-matrix "$@"
