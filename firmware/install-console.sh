#!/usr/bin/env bash
# lobbygate console (hub) installer for Debian 12 / Raspberry Pi OS.  Idempotent: re-run it to
# repair an install, add broker host names or upgrade from a newer checkout.
#
#   sudo ./firmware/install-console.sh --site ID [--broker-host HOST]... [--source DIR|WHEEL] [--no-start]
#
# --site ID           the site id, [a-z0-9-]{1,32} (the MQTT topics carry it)
# --broker-host HOST  name or address the nodes use to reach this host (repeatable; the first is
#                     written into node configs; default: this host's name and NAME.local)
# --source PATH       lobbygate checkout or wheel to install (default: the checkout holding this script)
# --no-start          install and enable, but do not (re)start Mosquitto and the console
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=install-common.sh
. "$here/install-common.sh"

SITE_DIR="$ETC/site"
source_path="$(dirname "$here")"
site=""
hosts=()
start=1
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --site) site="${2:?--site needs an id}"; shift 2 ;;
    --broker-host) hosts+=(--broker-host "${2:?--broker-host needs a name}"); shift 2 ;;
    --source) source_path="${2:?--source needs a path}"; shift 2 ;;
    --no-start) start=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
need_root
[ -n "$site" ] || { usage >&2; exit 2; }

# 1. Debian packages: Python, venv and the Mosquitto broker.
apt_install python3 python3-venv python3-pip ca-certificates mosquitto

# 2. The service user.
ensure_user

# 3. lobbygate itself, as the first (or a new) release under /opt/lobbygate.
install_release "$source_path"
install_docs "$here"
lg="$PREFIX/current/venv/bin/lobbygate"

# 4. The site: signing key, CA, broker certificate, console account (kept if they exist).
"$lg" provision init --dir "$SITE_DIR" --site "$site" "${hosts[@]}" \
      --broker-owner mosquitto --console-owner "$SERVICE_USER"

# 5. Mosquitto runs lobbygate's configuration (Debian's original is kept beside it).
conf=/etc/mosquitto/mosquitto.conf
if [ -f "$conf" ] && ! grep -q '^# lobbygate mosquitto.conf' "$conf" && [ ! -f "$conf.debian" ]; then
  cp -p "$conf" "$conf.debian"
fi
"$lg" broker-config --dir "$SITE_DIR" --out "$conf" --pid-file /run/mosquitto/mosquitto.pid
systemctl enable mosquitto.service >/dev/null 2>&1 || true

# 6. The console unit.
install_unit "$here/systemd/lobbygate-console.service"

# 7. Start (or restart onto the new configuration / release).
if [ "$start" -eq 1 ] && ! systemd_running; then
  log "systemd is not running (a chroot?): units enabled for the next boot, nothing started"
elif [ "$start" -eq 1 ]; then
  systemctl restart mosquitto.service
  systemctl restart lobbygate-console.service
  systemctl is-active --quiet lobbygate-console.service && log "lobbygate-console is running"
fi
log "done; add nodes with: sudo lobbygate provision node add NODE --dir $SITE_DIR"
