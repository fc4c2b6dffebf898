#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe) new enough for Dawn, so the webgpu backend and its tests run
# on a machine without a GPU (docs/gpu.md). Debian 12's own mesa-vulkan-drivers (22.3) is too old
# ("shaderUniform*ArrayDynamicIndexing required"); bookworm-backports has 25.x. Needs root (or sudo).
# Idempotent, and a no-op (no apt calls) when a new enough driver is installed.
set -euo pipefail
NEED=23
installed_major() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  v=${v#*:}
  echo "${v%%.*}"
}
major=$(installed_major)
if [ -n "$major" ] && [ "$major" -ge "$NEED" ] 2>/dev/null; then exit 0; fi
if ! command -v apt-get > /dev/null; then
  echo "install-lavapipe: no apt-get here; install Mesa ≥ $NEED's Vulkan drivers (lavapipe) with the system's package manager" >&2
  exit 1
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # the same mirror and keyring as the existing Debian entry (deb822 stanza whose Suites has "bookworm")
    uri=http://deb.debian.org/debian
    key=/usr/share/keyrings/debian-archive-keyring.gpg
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      found=$(awk 'BEGIN { RS = "" } {
          if ($0 !~ /(^|\n)Suites:([^\n]* )?bookworm( |\n|$)/) next
          u = ""; k = ""
          n = split($0, lines, "\n")
          for (i = 1; i <= n; i++) {
            if (lines[i] ~ /^URIs:/) { split(lines[i], w, " "); u = w[2] }
            if (lines[i] ~ /^Signed-By:/) { split(lines[i], w, " "); k = w[2] }
          }
          if (u != "") { print u " " k; exit }
        }' "$f")
      if [ -n "$found" ]; then
        uri=${found%% *}
        k=${found#* }
        [ -n "$k" ] && [ "$k" != "$found" ] && key=$k
        break
      fi
    done
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' "$uri" "$key" |
      $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources > /dev/null
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers > /dev/null
else
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq mesa-vulkan-drivers > /dev/null
fi
major=$(installed_major)
if ! [ "${major:-0}" -ge "$NEED" ] 2>/dev/null; then
  echo "install-lavapipe: mesa-vulkan-drivers ${major:-?} is installed; Dawn needs ≥ $NEED" >&2
  exit 1
fi
echo "install-lavapipe: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) installed"
