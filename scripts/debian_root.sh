#!/usr/bin/env bash
# Prints the path of a minimal Debian bookworm root (`debootstrap --variant=minbase`), built
# once from the Debian archive into .cache/ (gitignored) and reused; needs root to build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="$ROOT/.cache"
dir="$cache/debian-bookworm-minbase"
if [ ! -d "$dir" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/debian-bookworm-minbase.lock"
  flock 9
  if [ ! -d "$dir" ]; then
    temp=$(mktemp -d "$cache/.debootstrap-XXXXXX")
    trap 'rm -rf "$temp"' EXIT
    echo "debian_root: debootstrap --variant=minbase bookworm (about 30 s)" >&2
    if ! debootstrap --variant=minbase bookworm "$temp" http://deb.debian.org/debian \
      >"$temp.log" 2>&1; then
      tail -n 20 "$temp.log" >&2
      rm -f "$temp.log"
      exit 1
    fi
    rm -f "$temp.log"
    # Package lists and downloaded .debs are not part of the image people start from.
    rm -rf "$temp"/var/cache/apt/archives/*.deb "$temp"/var/lib/apt/lists/*
    chmod 0755 "$temp"
    mv "$temp" "$dir"
    trap - EXIT
  fi
fi
echo "$dir"
