#!/usr/bin/env bash
# Prints the path of a minimal Debian bookworm root (`debootstrap --variant=minbase`), built
# once from the Debian archive into .cache/ (gitignored) and reused; needs root to build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="$ROOT/.cache"
dir="$cache/debian-bookworm-minbase"
# Something that installed packages into the cached root (e.g. a bare chroot run) would change
# what every test starts from: a root whose package database moved since it was stamped is
# built again.
stamp="$dir.dpkg-status.sha256"
mkdir -p "$cache"
exec 9>"$cache/debian-bookworm-minbase.lock"
flock 9
if [ -d "$dir" ] && [ ! -e "$stamp" ]; then
  sha256sum "$dir/var/lib/dpkg/status" >"$stamp"
elif [ -d "$dir" ] && ! sha256sum --status -c "$stamp"; then
  echo "debian_root: $dir was changed since it was built; building it again" >&2
  rm -rf "$dir" "$dir.tar"
fi
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
  sha256sum "$dir/var/lib/dpkg/status" >"$stamp"
  trap - EXIT
fi
echo "$dir"
