#!/usr/bin/env bash
# The main job: the local ConTree backend and the gateway in front of it, both on loopback.
# Installs what is missing (scripts/setup.sh), starts both, waits until both answer, prints
# the gateway URL, an API key and curl examples, then serves until Ctrl-C.
#   GATEWAY_PORT (default 8787): the gateway's port.  DATA_DIR (default .data/main): state.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$ROOT"
bash scripts/setup.sh

data="${DATA_DIR:-$ROOT/.data/main}"
port="${GATEWAY_PORT:-8787}"
mkdir -p "$data"
token="$(deno eval 'console.log(crypto.randomUUID().replaceAll("-", ""))')"
key="$(deno eval --no-check 'import { generateGatewayKey } from "./worker/src/keys.ts"; console.log(generateGatewayKey())')"
ro_key="$(deno eval --no-check 'import { generateGatewayKey } from "./worker/src/keys.ts"; console.log(generateGatewayKey())')"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# wait_for LOG PATTERN PID: waits for a line matching PATTERN in LOG, prints the match.
wait_for() {
  local log=$1 pattern=$2 pid=$3
  for _ in $(seq 1 600); do
    if grep -qoE "$pattern" "$log"; then grep -oE "$pattern" "$log" | head -n1; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "main: a process exited early; its log:" >&2; cat "$log" >&2; return 1; fi
    sleep 0.2
  done
  echo "main: timed out waiting for $log" >&2
  return 1
}

# The token goes through the environment: command lines show in `ps`.
CONTREE_TOKEN="$token" deno run -A server/main.ts serve --port 0 --data-dir "$data" \
  >"$data/backend.log" 2>&1 &
pids+=($!)
backend="$(wait_for "$data/backend.log" 'http://[0-9.]+:[0-9]+' "${pids[0]}")"

CONTREE_URL="$backend" CONTREE_TOKEN="$token" GATEWAY_KEYS="$key,ro:$ro_key" PORT="$port" \
  deno run -A worker/deno.ts >"$data/gateway.log" 2>&1 &
pids+=($!)
gateway="$(wait_for "$data/gateway.log" 'http://[0-9.]+:[0-9]+' "${pids[1]}")"

# Both answer: the backend's whoami with its token, the gateway's healthz and an image listing.
CONTREE_TOKEN="$token" deno eval "
  const token = Deno.env.get('CONTREE_TOKEN');
  const b = await fetch('$backend/v1/whoami', { headers: { authorization: 'Bearer ' + token } });
  const g = await fetch('$gateway/images?tagged=1', { headers: { authorization: 'Bearer $key' } });
  const h = await fetch('$gateway/healthz');
  await Promise.all([b.body?.cancel(), g.body?.cancel(), h.body?.cancel()]);
  if (!b.ok || !g.ok || !h.ok) { console.error('main: not answering', b.status, g.status, h.status); Deno.exit(1); }
"

cat <<INFO

ConTree gateway: $gateway   (OpenAPI: $gateway/openapi.json)
  read-write key: $key
  read-only key:  $ro_key
  backend:        $backend (logs: $data/backend.log, gateway logs: $data/gateway.log)

Try it:
  export GW=$gateway KEY=$key
  curl -s -H "Authorization: Bearer \$KEY" "\$GW/images?tagged=1"
  curl -s -H "Authorization: Bearer \$KEY" "\$GW/images/busybox:latest/ls/etc"
  curl -s -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' \\
    -d '{"shell": "echo hello from \$(hostname); uname -a", "disposable": true}' "\$GW/images/busybox:latest/run"
  curl -sN -H "Authorization: Bearer \$KEY" -H 'Accept: text/event-stream' -H 'Content-Type: application/json' \\
    -d '{"shell": "for i in 1 2 3; do echo tick \$i; sleep 1; done", "disposable": true}' "\$GW/images/busybox:latest/run"
  # Keep a result under a tag of its own (a tag moves to the new image: never reuse busybox:latest).
  curl -s -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' \\
    -d '{"shell": "echo hi > /greeting", "disposable": false, "tag": "demo/greeting:v1"}' "\$GW/images/busybox:latest/run"
  curl -s -H "Authorization: Bearer \$KEY" "\$GW/images/demo%2Fgreeting:v1/files/greeting"
  curl -s -H "Authorization: Bearer \$KEY" -r 0-63 "\$GW/images/busybox:latest/files/etc/passwd" -D -
  curl -s -H "Authorization: Bearer \$KEY" "\$GW/images/busybox:latest/archive/etc?gzip=1" -o etc.tar.gz

Serving until Ctrl-C.
INFO
wait -n "${pids[@]}"
