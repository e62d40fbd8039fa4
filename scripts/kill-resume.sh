#!/usr/bin/env bash
# The long SIGKILL-and-resume test (issue 13, acceptance 3): 200 rounds of `ckstore train
# --save-every 10`, each SIGKILLed at a random instant and restarted at once. CI runs 20.
# Usage: scripts/kill-resume.sh [ROUNDS]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
CKSTORE_KILL_ROUNDS="${1:-200}" swift test -c release --filter KillResumeTests
