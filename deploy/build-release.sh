#!/usr/bin/env bash
# Builds statussync as the container ships it, into OUTPUT (default: dist/statussync):
#   - Swift runtime and Foundation linked statically (the image needs only libc, libstdc++, zlib
#     and libsqlite3);
#   - position-independent, with relative relocations packed (lld, -z pack-relative-relocs: glibc
#     applies them from a small bitmap instead of a 3 MiB table);
#   - no exported dynamic symbols (nothing looks the executable's symbols up; exporting 48,000 of
#     them made the loader touch 2 MiB of symbol tables at start);
#   - stripped.
# Together these keep `statussync relay` under 32 MiB resident (docs/benchmarks.md).
# bench/run.sh measures this build (and builds its BenchCeiling the same way with
# PRODUCT=BenchCeiling); deploy/Containerfile runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT="${1:-dist/statussync}"
SCRATCH="${SCRATCH:-.build-static}"
PRODUCT="${PRODUCT:-statussync}"
FLAGS=(-c release --product "$PRODUCT" --static-swift-stdlib --scratch-path "$SCRATCH"
       -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic)
swift build "${FLAGS[@]}"
install -D -m 0755 "$(swift build "${FLAGS[@]}" --show-bin-path)/$PRODUCT" "$OUTPUT"
strip "$OUTPUT"
