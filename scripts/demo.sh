#!/usr/bin/env bash
# The main job: train the digits MLP on the engine, committing checkpoints into ./demo-store,
# then show the history, a numeric diff between two checkpoints, and gc freeing old data.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ckstore
export CKSTORE_DIR=demo-store
ckstore() {
  printf '\n$ ckstore %s\n' "$*"
  ./.build/release/ckstore "$@"
}
rm -rf demo-store
ckstore init
ckstore train --data digits --steps 500 --save-every 100 --keep-last 10 --seed 0
ckstore log --oneline
ckstore diff step-100 step-200 || [ $? -eq 1 ]   # exit 1 means "different", as diff(1)
ckstore gc --keep-last 2
ckstore log --oneline
ckstore stats
ckstore fsck
