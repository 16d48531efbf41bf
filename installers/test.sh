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

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e "$root[test,openvino,ray,video]"

export ALPHALIFT_HOME=${ALPHALIFT_HOME:-$cache/home}
cd "$root"
exec "$venv/bin/python" -m pytest -q "$@"
