#!/usr/bin/env bash
# lobbygate developer entry point: `./dev.sh demo` or `./dev.sh test` on a fresh Debian /
# Raspberry Pi OS.  Installs what is missing (Debian packages, a virtualenv in .venv with the
# package and its test dependencies), then runs the demo or the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-}"; shift || true
case "$what" in demo|test|bench) ;; *) echo "usage: ./dev.sh demo|test|bench [args...]" >&2; exit 2;; esac

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_pkgs=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_pkgs+=(mosquitto)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
if [ "$what" = test ]; then
  command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
  fc-list 2>/dev/null | grep -qi 'noto sans cjk' || need_pkgs+=(fonts-noto-cjk)
  command -v shellcheck >/dev/null 2>&1 || need_pkgs+=(shellcheck)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "dev.sh: installing ${need_pkgs[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
# A Debian-packaged mosquitto starts a system broker on 1883; lobbygate never uses it: every
# test, bench and demo starts its own on a free port with the project's config.

if [ ! -x .venv/bin/python ] || [ setup.py -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi

case "$what" in
  demo)  exec .venv/bin/lobbygate demo "$@" ;;
  test)  exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@" ;;
  bench) for b in bench/*.py; do echo "== $b"; .venv/bin/python "$b" "$@"; done ;;
esac
