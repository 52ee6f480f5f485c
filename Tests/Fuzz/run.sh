#!/usr/bin/env bash
# Runs every libFuzzer target (or the ones named) for a set time and prints executions and crashes.
#
#   Tests/Fuzz/run.sh [seconds-per-target] [Target ...]      (default 60 s, all targets)
#
# Builds this package in release mode with `-sanitize=fuzzer,address`. Release, because -O keeps every
# Swift safety trap (bounds, overflow, force-unwrap; only -Ounchecked drops them) and runs many times
# more inputs per second than a debug build. Not part of CI.
#
# Each target reads its seeds from Tests/Fuzz/Corpus/<Target> (checked in) and writes what it learns to
# Tests/Fuzz/.build/corpus/<Target> (not checked in). A crash, timeout or out-of-memory input is saved to
# Tests/Fuzz/.build/crashes/<Target>/ and the target is started again for the time left, so one run finds
# more than one bug. Reproduce one with `Tests/Fuzz/.build/release/<Target> <file>`; every crash fixed gets
# a regression test in the root package's test suite, with the input checked in.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
all=(FuzzCertificates FuzzEncryptedPKCS8 FuzzPublicKeyImport FuzzJWK FuzzJWE FuzzHTTPSignatures FuzzMyPOSForm FuzzOrderedJSON FuzzMultipart)
if (( $# > 0 )); then targets=("$@"); else targets=("${all[@]}"); fi
flags=(-c release -Xswiftc -sanitize=fuzzer,address)
# Swift's own crash backtracer reads memory ASan watches and reports itself as a heap overflow on top
# of the real trap; libFuzzer's and ASan's stack traces are enough.
export SWIFT_BACKTRACE=enable=no

# FUZZ_SKIP_BUILD=1 runs the binaries already built (e.g. while another build has the machine).
[[ "${FUZZ_SKIP_BUILD:-}" == 1 ]] || nice -n 19 swift build "${flags[@]}" || exit 1
bin=$(swift build "${flags[@]}" --show-bin-path)

summary=()
for target in "${targets[@]}"; do
    corpus=.build/corpus/$target crashes=.build/crashes/$target log=.build/logs/$target.log
    mkdir -p "$corpus" "$crashes" .build/logs
    : > "$log"
    executions=0 runs=0 start=$SECONDS
    while (( SECONDS - start < seconds && runs < 20 )); do
        runs=$((runs + 1))
        # -detect_leaks=0: the Swift runtime's metadata caches look like leaks to LeakSanitizer.
        # -timeout=10: an input that takes longer is a hang (reported as timeout-*).
        nice -n 19 "$bin/$target" -max_total_time=$((seconds - (SECONDS - start))) -timeout=10 -rss_limit_mb=2048 \
            -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "Corpus/$target" > "$log.run" 2>&1
        status=$?
        cat "$log.run" >> "$log"
        executed=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log.run" | tail -1 | grep -o '[0-9]*$')
        # A crashed run prints no final stats; count what its last status line reached.
        [[ $status -ne 0 ]] && executed=$(grep -oE '^#[0-9]+' "$log.run" | tail -1 | tr -d '#')
        executions=$((executions + ${executed:-0}))
        [[ $status -eq 0 ]] && break
        echo "== $target: run $runs stopped (status $status), restarting for the time left" >> "$log"
    done
    found=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    line=$(printf '%-22s %6ss %12s executions %3s crashes/timeouts saved  %s' "$target" "$((SECONDS - start))" "$executions" "$found" "$crashes")
    echo "$line"
    summary+=("$line")
done
echo
echo "Summary"
printf '%s\n' "${summary[@]}"
