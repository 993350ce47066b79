#!/usr/bin/env bash
# Runs the four plugin platform benches one after another in release mode
# and writes their output to target/bench-results/plugin_platform-<UTC time>.txt.
# Each bench prints the machine, the load average at its start and end, and
# its baseline beside its figure. Run it on an otherwise idle machine.
#
# The benches are built once and their executables run directly, so that an
# edit elsewhere in the tree during the run does not rebuild them half way.
# Each run is the same as `cargo bench -p civic311-plugin-manager --bench NAME`.
set -euo pipefail

cd "$(dirname "$0")/.."
benches=(upload_to_active routing_throughput plugin_memory noisy_neighbour)
mkdir -p target/bench-results
log="target/bench-results/plugin_platform-$(date -u +%Y%m%dT%H%M%SZ).txt"

build_args=(-p civic311-plugin-manager --no-run --message-format=json)
for bench in "${benches[@]}"; do
    build_args+=(--bench "$bench")
done
executables=$(cargo bench "${build_args[@]}" | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") and "bench" in message["target"]["kind"]:
        print(message["target"]["name"], message["executable"])
')

for bench in "${benches[@]}"; do
    executable=$(awk -v name="$bench" '$1 == name { print $2 }' <<<"$executables")
    if [[ -z "$executable" ]]; then
        echo "bench $bench was not built" >&2
        exit 1
    fi
    echo "### cargo bench -p civic311-plugin-manager --bench $bench ($executable)" | tee -a "$log"
    "$executable" --bench 2>&1 | tee -a "$log"
done
echo "results written to $log"
