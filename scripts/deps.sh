#!/usr/bin/env bash
# deps.sh — install what vtp needs to build and test, if it is missing:
# Debian packages (apt-get; awscli and jq run the docs' commands in
# test/t/014_docs.pl; installing also upgrades a package that is
# already there but older) and the test emulator's npm packages (npm ci,
# from the committed lockfile). Safe to run again: does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="postgresql-15 postgresql-server-dev-15 libavformat-dev libavcodec-dev libavfilter-dev
libswscale-dev libswresample-dev libavutil-dev libcurl4-openssl-dev libssl-dev
libmicrohttpd-dev libpq-dev libipc-run-perl ffmpeg pkg-config make gcc curl nodejs npm clang libclang-rt-14-dev
awscli jq"

missing=()
for p in $PKGS; do
  # nodejs from NodeSource ships npm itself
  [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -d test/emulator/node_modules/fauxqs ] || [ test/emulator/package-lock.json -nt test/emulator/node_modules/.package-lock.json ]; then
  echo "deps: npm ci in test/emulator"
  (cd test/emulator && npm ci --no-audit --no-fund --loglevel=error)
fi
