#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine; quick when all is there.
#   Debian packages: bubblewrap (sandboxes), busybox-static (the base image),
#   gcc + libc6-dev (the static in-sandbox helper), passt (networked sandboxes). npm: runtimes and libraries.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
cd "$ROOT"

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v gcc >/dev/null || missing+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || missing+=(libc6-dev)
# Disk caps during runs: a loop-mounted ext4 per capped run.
[ -x /usr/sbin/mkfs.ext4 ] || [ -x /sbin/mkfs.ext4 ] || missing+=(e2fsprogs)
# Registry import tests: a real registry, htpasswd (bcrypt) and openssl (token-auth keys).
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v htpasswd >/dev/null || missing+=(apache2-utils)
command -v openssl >/dev/null || missing+=(openssl)
# Networked runs: pasta (Debian's passt) wires a run's network namespace; the keyring test
# adds a key as host root with keyctl.
command -v pasta >/dev/null || missing+=(passt)
command -v keyctl >/dev/null || missing+=(keyutils)
# The seccomp test also runs an i386 program on x86_64 (the filter's second ABI).
[ "$(uname -m)" != x86_64 ] || [ -e /usr/lib32/libc.a ] || missing+=(gcc-multilib)
# Sandbox tests use a real Debian root (scripts/debian_root.sh) and a non-root server
# (newuidmap/newgidmap).
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v newuidmap >/dev/null || missing+=(uidmap)
# Grep tests compare the backend with ripgrep on the same files.
command -v rg >/dev/null || missing+=(ripgrep)
# The gateway bench downloads with curl (and the main job's examples use it).
command -v curl >/dev/null || missing+=(curl)
# Browser tests: Debian's Chromium, driven by playwright-core from npm (no browser download).
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/bun ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The Debian root of the sandbox tests, built once (needs root and the Debian archive), and
# the ordinary user some server tests run the server as (a server without root), with a
# subordinate id range of its own.
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/debian_root.sh >/dev/null
  if ! id contree-test >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin contree-test
  fi
  if ! grep -q '^contree-test:' /etc/subuid || ! grep -q '^contree-test:' /etc/subgid; then
    usermod --add-subuids 1610612736-1610678271 --add-subgids 1610612736-1610678271 contree-test
  fi
fi
