#!/usr/bin/env bash
# The main job: train the digits MLP on the engine, committing checkpoints into ./demo-store,
# then show the history, a numeric diff between two checkpoints, a frozen-base fine-tune branch
# that shares the base with step-500 (real dedup), gc freeing old data, and an HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ckstore
export CKSTORE_DIR=demo-store
ckstore() {
  printf '\n$ ckstore %s\n' "$*"
  ./.build/release/ckstore "$@"
}
rm -rf demo-store report.html
ckstore init
ckstore train --data digits --steps 500 --save-every 100 --keep-last 10 --seed 0
ckstore log --oneline
ckstore diff step-100 step-200 || [ $? -eq 1 ]   # exit 1 means "different", as diff(1)
ckstore branch finetune step-500
ckstore train --branch finetune --freeze-base --steps 800 --save-every 100 --keep-last 10 --seed 0
ckstore diff step-500 finetune || [ $? -eq 1 ]
ckstore gc --keep-last 2 --keep-best accuracy:max=1
ckstore log --oneline finetune
ckstore stats
ckstore fsck
ckstore report -o report.html
