#!/usr/bin/env bash
# Runs the four plugin platform benches one after another in release mode
# and writes their output to target/bench-results/plugin_platform-<UTC time>.txt.
# Each bench prints the machine, the load average at its start and end, and
# its baseline beside its figure. Run it on an otherwise idle machine.
set -euo pipefail

cd "$(dirname "$0")/.."
benches=(upload_to_active routing_throughput plugin_memory noisy_neighbour)
mkdir -p target/bench-results
log="target/bench-results/plugin_platform-$(date -u +%Y%m%dT%H%M%SZ).txt"

cargo bench -p civic311-plugin-manager "${benches[@]/#/--bench=}" --no-run
for bench in "${benches[@]}"; do
    echo "### cargo bench -p civic311-plugin-manager --bench $bench" | tee -a "$log"
    cargo bench -p civic311-plugin-manager --bench "$bench" 2>&1 | grep -v '^\s*\(Compiling\|Finished\|Running\)' | tee -a "$log"
done
echo "results written to $log"
