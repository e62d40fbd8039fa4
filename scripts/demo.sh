#!/usr/bin/env bash
# The main job: build ckstore and show it working on a local store.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ckstore
./.build/release/ckstore --help
