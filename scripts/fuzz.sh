#!/usr/bin/env bash
# fuzz.sh: the libFuzzer harnesses (tests/fuzz), built with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/, each run
# over its seed corpus (tests/fuzz/corpus/<target>/). Fails on any crash,
# leak, timeout or sanitizer report; the input that caused it is left in
# build-fuzz/fuzz-artifacts/ (replay: build-fuzz/tests/fuzz/fuzz_<target> FILE).
#
#   scripts/fuzz.sh                      a fixed number of executions per target
#                                        (about a minute in all on 2 cores): the
#                                        test command's pass (scripts/test.sh)
#   scripts/fuzz.sh --long SECONDS       each target for SECONDS, to look for bugs
#   scripts/fuzz.sh [...] TARGET...      only these targets (default: all)
#
# Targets: membership workgroups projects (every method of the service, in
# process), page_token, cached_entry, metrics_http. The fixed run starts from
# the seed corpus alone, with a fixed seed, so it does the same work every
# time; a long run keeps what it found in build-fuzz/fuzz-corpus/<target>/ and
# starts from there next time. The committed corpus is only read (make it
# with tests/fuzz/make_corpus.py); tests/fuzz/<target>.dict, when there is
# one, is the target's libFuzzer dictionary.
set -euo pipefail
cd "$(dirname "$0")/.."

# Executions per target in the fixed run, and the largest input per target
# (libFuzzer's default is 4096 bytes): a cache entry must be able to outgrow
# cached_get.c's 8 KiB arena.
declare -A RUNS=([membership]=30000 [workgroups]=15000 [projects]=15000
                 [page_token]=400000 [cached_entry]=200000 [metrics_http]=8000)
declare -A MAX_LEN=([cached_entry]=16384 [metrics_http]=8192)
ALL=(membership workgroups projects page_token cached_entry metrics_http)

long=0
if [ "${1:-}" = --long ]; then
    if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
        echo "usage: $0 [--long SECONDS] [TARGET...]" >&2
        exit 2
    fi
    long=$2
    shift 2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
    [ -n "${RUNS[$t]:-}" ] || { echo "fuzz.sh: no target \"$t\" (${ALL[*]})" >&2; exit 2; }
done

dir=build-fuzz
echo "== build the fuzz harnesses (clang, ASan, UBSan, libFuzzer) in $dir =="
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOMPACT_FUZZ=ON \
    -DCOMPACT_TESTS=OFF -DCOMPACT_ASSERTS=ON -DCOMPACT_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(( $(nproc) < 2 ? $(nproc) : 2 ))" --target fuzz

export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/fuzz-artifacts" "$dir/fuzz-logs"
failed=()
for t in "${targets[@]}"; do
    work="$dir/fuzz-corpus/$t"
    log="$dir/fuzz-logs/$t.log"
    args=(-artifact_prefix="$dir/fuzz-artifacts/$t-" -timeout=30 -rss_limit_mb=2560
          -print_final_stats=1)
    [ -z "${MAX_LEN[$t]:-}" ] || args+=(-max_len="${MAX_LEN[$t]}")
    [ ! -f "tests/fuzz/$t.dict" ] || args+=(-dict="tests/fuzz/$t.dict")
    if [ "$long" -gt 0 ]; then
        args+=(-max_total_time="$long")
        what="for $long s"
    else
        rm -rf "$work"
        args+=(-runs="${RUNS[$t]}" -seed=1)
        what="${RUNS[$t]} executions"
    fi
    mkdir -p "$work"
    echo "== fuzz_$t: $what =="
    start=$SECONDS
    rc=0
    # New inputs go to the first directory; the seed corpus is only read.
    "$dir/tests/fuzz/fuzz_$t" "${args[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    # A report that did not end the run still fails it.
    if [ "$rc" -eq 0 ] && grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
        rc=1
    fi
    stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/\1 runs, /; s/ lim:.*//') || true
    if [ "$rc" -ne 0 ]; then
        echo "fuzz_$t FAILED (exit $rc) after $((SECONDS - start)) s; the end of $log:"
        grep -vE '^\{"time"' "$log" | tail -40
        failed+=("$t")
    else
        echo "fuzz_$t: ok in $((SECONDS - start)) s (${stats:-no stats})"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]} (inputs in $dir/fuzz-artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets clean"
