# Shared environment for the project's scripts (sourced, not run).
# Runtimes come from npm (node_modules/.bin); Deno needs the system CA store here,
# and colours or backtraces would only add noise to logs that CI reads.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/node_modules/.bin:$PATH"
export NO_COLOR=1 DENO_TLS_CA_STORE=system DENO_NO_UPDATE_CHECK=1
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
unset RUST_BACKTRACE
