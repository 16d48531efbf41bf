#!/usr/bin/env bash
# Runs AlphaLift's whole test suite on a fresh Debian/Ubuntu machine.
# Heavy set-up (the venv, the model) is cached outside the clone, in $ALPHALIFT_CACHE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ALPHALIFT_CACHE:-$HOME/.cache/alphalift-dev}
venv=$cache/venv
mkdir -p "$cache"

need_apt=()
command -v npm >/dev/null || need_apt+=(npm)  # the model's reachable source is its npm package
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
# Tools some tests need to see for themselves (they skip, saying so, without them): strace proves no
# telemetry leaves the machine, bubblewrap emulates a Flatpak sandbox.
want_apt=()
command -v strace >/dev/null || want_apt+=(strace)
command -v bwrap >/dev/null || want_apt+=(bubblewrap)
if ((${#want_apt[@]})) && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want_apt[@]}"; } ||
    echo "test.sh: could not install ${want_apt[*]}; the tests that need them will skip" >&2
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e "$root[test,openvino,ray,video]"

export ALPHALIFT_HOME=${ALPHALIFT_HOME:-$cache/home}
cd "$root"
exec "$venv/bin/python" -m pytest -q "$@"
