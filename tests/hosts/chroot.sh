#!/bin/sh
# Build (once) or refresh a Debian 13 (trixie) chroot with the real GIMP 3 and Krita 5.2 for the host tests.
#   sh tests/hosts/chroot.sh ROOT up     build if missing, install packages, mount /proc /sys /dev
#   sh tests/hosts/chroot.sh ROOT down   unmount (always before deleting ROOT)
# Needs root. ROOT lives outside the clone (tests use $ALPHALIFT_CACHE/trixie) so CI reuses it.
set -eu
ROOT=$1
PACKAGES="gimp gir1.2-gimp-3.0 python3-gi python3-venv python3-pip ca-certificates krita python3-pyqt5 xvfb xauth"

mounts() {
  for d in proc sys dev dev/pts; do
    mountpoint -q "$ROOT/$d" || mount --bind "/$d" "$ROOT/$d"
  done
}

case "${2:-up}" in
  down)
    for d in dev/pts dev sys proc; do mountpoint -q "$ROOT/$d" && umount -l "$ROOT/$d"; done
    exit 0 ;;
esac

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  rm -rf "$ROOT.partial"
  debootstrap --variant=minbase trixie "$ROOT.partial"
  mv "$ROOT.partial" "$ROOT"
fi
mounts
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
if [ ! -f "$ROOT/.alphalift-packages" ] || [ "$(cat "$ROOT/.alphalift-packages")" != "$PACKAGES" ]; then
  chroot "$ROOT" sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
    apt-get install -y -q --no-install-recommends $PACKAGES && apt-get clean"
  echo "$PACKAGES" > "$ROOT/.alphalift-packages"
fi
