#!/usr/bin/env bash
# Builds the libFuzzer binary for the store's decoders and runs each target for a fixed time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 30 s each, every target
#
# Targets: safetensors object tree commit revision (Tests/Fuzz/FuzzTargets.swift). The binary is
# Sources/CKStore/*.swift plus the fuzz entry points compiled together with
# -sanitize=fuzzer,address, outside SwiftPM, so the package itself has no unsafe flags.
# Seeds come from Tests/Fuzz/corpus/<target>/ (read only); inputs the fuzzer finds go to
# .build-fuzz/corpus/<target>/. Exits non-zero if any target crashes, leaks, times out or runs
# out of memory, and prints the path of the input that did it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors object tree commit revision)

out=.build-fuzz
bin=$out/ckfuzz
mkdir -p "$out"

# Rebuild only when a source changed.
sources=(Sources/CKStore/*.swift Tests/Fuzz/*.swift)
if [ ! -x "$bin" ] || [ -n "$(find "${sources[@]}" -newer "$bin" | head -1)" ]; then
  echo "fuzz: building $bin"
  swiftc -sanitize=fuzzer,address -O -g -parse-as-library -module-name CKStore -package-name ckstore \
    -I Sources/CZstd -I Sources/CCrypto -lzstd -lcrypto \
    "${sources[@]}" -o "$bin" 2> >(grep -v "Cannot export local symbol '__asan" >&2)
fi

failed=0
for t in "${targets[@]}"; do
  seeds=Tests/Fuzz/corpus/$t
  work=$out/corpus/$t
  artifacts=$out/artifacts/$t/
  log=$out/$t.log
  rm -rf "$artifacts"
  mkdir -p "$work" "$artifacts"
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 2; }
  echo "fuzz: $t for ${seconds}s (log $log)"
  rc=0
  # Leak checking is off: Swift packs enum tags into pointer spare bits, so LeakSanitizer cannot
  # see some live references and reports leaks that are not. The Swift backtracer is off so a
  # trap reaches libFuzzer directly (its memory reader otherwise trips ASan).
  ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no CKFUZZ_TARGET=$t "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" \
    "$work" "$seeds" >"$log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE +cov:|Done [0-9]+ runs" "$log" \
    | sed "s/^/fuzz: $t: /" || true
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz: $t FAILED (rc $rc); last lines of $log:" >&2
    grep -E "ERROR|Fatal error|SUMMARY|Test unit written" "$log" | head -5 >&2 || tail -20 "$log" >&2
    for f in "$artifacts"*; do [ -e "$f" ] && echo "fuzz: crash input: $f" >&2; done
  fi
done
exit $failed
