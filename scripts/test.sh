#!/usr/bin/env bash
# The whole suite on a fresh machine: set-up, static checks, then every test runner.
# Prints one line `tests: N passed, N failed` (summing every runner) and exits
# non-zero on any failure. `scripts/test.sh core server` runs only those groups.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$ROOT"
bash scripts/setup.sh || { echo "tests: 0 passed, 1 failed"; exit 1; }

want=("$@")
wanted() { [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $1 "* ]]; }
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# One check counts as one test.
check() {
  local name=$1
  shift
  if "$@" >"$out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   check: $name"
  else
    failed=$((failed + 1))
    echo "FAIL check: $name"
    tail -n 60 "$out"
  fi
}

# Reads a runner's own closing lines; a runner that died without them counts as one failure.
count() {
  local format=$1 status=$2 p f
  case $format in
  deno)
    # Deno counts a describe() as one test and its it()s as steps: count the steps when given.
    local line
    line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$out" | tail -n1)
    p=$(sed -nE 's/^[A-Z]*[a-z]* \| ([0-9]+) passed( \(([0-9]+) steps?\))?.*/\1 \3/p' <<<"$line" | awk '{print ($2 != "") ? $2 : $1}')
    f=$(sed -nE 's/.*\| ([0-9]+) failed( \(([0-9]+) steps?\))?.*/\1 \3/p' <<<"$line" | awk '{print ($2 != "") ? $2 : $1}')
    ;;
  bun)
    p=$(sed -nE 's/^ *([0-9]+) pass$/\1/p' "$out" | tail -n1)
    f=$(sed -nE 's/^ *([0-9]+) fail$/\1/p' "$out" | tail -n1)
    ;;
  node)
    p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$out" | tail -n1)
    f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$out" | tail -n1)
    ;;
  esac
  if [ -z "$p" ] || [ -z "$f" ]; then
    p=${p:-0} f=1
  elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  echo "== $p passed, $f failed"
}

# run_suite NAME FORMAT COMMAND...: runs one test runner, showing its output.
run_suite() {
  local name=$1 format=$2
  shift 2
  echo "== suite: $name"
  "$@" 2>&1 | tee "$out"
  count "$format" "${PIPESTATUS[0]}"
}

# deno doc --lint on the entry points. Deno 2.9 still reports a type of another package used in a
# public signature as a "private type" (denoland/deno#27364); those named in EXTERNAL_TYPES (the
# gateway returns a Hono app, so that it mounts with `app.route`) are not counted.
EXTERNAL_TYPES="Hono"
doc_lint() {
  local report errors external
  report=$(deno doc --lint "$@" 2>&1) && return 0
  errors=$(grep -c '^error\[' <<<"$report")
  external=$(grep -cE "^error\[private-type-ref\]: .* references private type '(${EXTERNAL_TYPES// /|})'$" <<<"$report")
  echo "$report"
  [ "$errors" -gt 0 ] && [ "$errors" -eq "$external" ]
}

has_tests() { compgen -G "$1" >/dev/null; }

if wanted checks; then
  check "deno fmt --check" deno fmt --check
  check "deno lint" deno lint
  check "deno check" deno check
  # Every entry point listed in deno.json "exports".
  check "deno doc --lint" doc_lint $(deno eval 'console.log(Object.values(JSON.parse(Deno.readTextFileSync("deno.json")).exports).join(" "))')
  check "deno publish --dry-run" deno publish --dry-run --allow-dirty
fi

if wanted core && has_tests "tests/core/*.test.ts"; then
  run_suite "core (deno)" deno deno test -A --no-check tests/core/
  run_suite "core (bun)" bun bun test --timeout 60000 tests/core/
  run_suite "core (node)" node node --import tsx --test --test-reporter=tap tests/core/*.test.ts
fi
if wanted workerd && has_tests "tests/workerd/*.test.ts"; then
  run_suite "workerd (node + miniflare)" node node --import tsx --test --test-reporter=tap tests/workerd/*.test.ts
fi
if wanted sdk && has_tests "tests/sdk/*.test.ts"; then
  run_suite "sdk (deno)" deno deno test -A --no-check tests/sdk/
  run_suite "sdk (bun)" bun bun test --timeout 120000 tests/sdk/
  run_suite "sdk (node)" node node --import tsx --test --test-reporter=tap tests/sdk/*.test.ts
fi
if wanted browser && has_tests "tests/browser/*.test.ts"; then
  run_suite "browser (node + chromium)" node node --import tsx --test --test-reporter=tap \
    tests/browser/*.test.ts
fi
if wanted gateway && has_tests "tests/gateway/*.test.ts"; then
  pieces=(tests/gateway/pieces.test.ts tests/gateway/app.test.ts)
  run_suite "gateway (deno)" deno deno test -A --no-check "${pieces[@]}" tests/gateway/deno.test.ts
  run_suite "gateway (bun)" bun bun test --timeout 600000 "${pieces[@]}" tests/gateway/bun.test.ts
  run_suite "gateway (workerd)" node node --import tsx --test --test-reporter=tap "${pieces[@]}" \
    tests/gateway/workerd.test.ts tests/gateway/package.test.ts
fi
if wanted cli && has_tests "tests/cli/*.test.ts"; then
  run_suite "cli (deno)" deno deno test -A --no-check tests/cli/
fi
if wanted server && has_tests "tests/server/*.test.ts"; then
  run_suite "server (deno)" deno deno test -A --no-check tests/server/
  # The API and sandbox tests again with the server running as an ordinary user (without
  # root): contree-test, made by scripts/setup.sh.
  # That user must read the checkout: one under a private directory (a 0700 home such as
  # /root) runs from a copy of hard links that other users can read.
  checkout=$ROOT
  as_test_user=(setpriv "--reuid=$(id -u contree-test)" "--regid=$(id -g contree-test)" --init-groups)
  if ! "${as_test_user[@]}" test -r "$ROOT/server/main.ts"; then
    checkout=$(mktemp -d /tmp/contree-checkout-XXXXXX)
    chmod 755 "$checkout"
    trap 'rm -f "$out"; rm -rf "$checkout"' EXIT
    cp -al "$ROOT/." "$checkout/" 2>/dev/null || cp -a "$ROOT/." "$checkout/"
  fi
  run_suite "server without root (deno)" deno env -C "$checkout" CONTREE_TEST_SERVER_USER=contree-test \
    deno test -A --no-check tests/server/api_host_ids.test.ts tests/server/api_runs.test.ts \
    tests/server/api_inspect.test.ts tests/server/exec_api.test.ts \
    tests/server/sandbox_debian.test.ts
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
