#!/usr/bin/env bash
# lobbygate node installer for Raspberry Pi OS (Bookworm) and Debian 12.  Idempotent: re-run it
# to repair an install, to apply a new bundle or to upgrade from a newer checkout.
#
#   sudo ./firmware/install-node.sh --bundle lobby.tar.gz [--source DIR|WHEEL] [--no-boot] [--no-start]
#
# --bundle FILE   the node's bundle from `lobbygate provision node add` on the console host
# --source PATH   lobbygate checkout or wheel to install (default: the checkout holding this script)
# --no-boot       leave config.txt / cmdline.txt alone (not a Raspberry Pi, or done by hand)
# --no-start      install and enable, but do not (re)start the service
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=install-common.sh
. "$here/install-common.sh"

source_path="$(dirname "$here")"
bundle=""
boot=1
start=1
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="${2:?--bundle needs a file}"; shift 2 ;;
    --source) source_path="${2:?--source needs a path}"; shift 2 ;;
    --no-boot) boot=0; shift ;;
    --no-start) start=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
need_root
[ -z "$bundle" ] || [ -f "$bundle" ] || die "no bundle file $bundle"

# 1. Debian packages: Python, venv, and GPIO access through lgpio where the archive has it.
pkgs=(python3 python3-venv python3-pip ca-certificates udev)  # udev: the stable /dev/lobbygate names
apt_available python3-lgpio && pkgs+=(python3-lgpio)
apt_install "${pkgs[@]}"

# 2. The service user, in the groups that own /dev/gpiochip* and the serial ports.
ensure_user
add_groups gpio dialout

# 3. lobbygate itself, as the first (or a new) release under /opt/lobbygate.
install_release "$source_path"
install_docs "$here"

# 4. The node's identity: config, broker password or client certificate, command key, site CA
#    and public key.
if [ -n "$bundle" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$bundle" -C "$tmp" --no-same-owner --no-same-permissions
  node_dir="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  if [ -z "$node_dir" ] || [ ! -f "$node_dir/node.toml" ]; then
    die "$bundle is not a lobbygate node bundle"
  fi
  install -m 0644 -o root -g root "$node_dir/node.toml" "$node_dir/ca.crt" \
          "$node_dir/site-signing.pub" "$ETC/"
  install -m 0600 -o "$SERVICE_USER" -g "$SERVICE_USER" "$node_dir/command.key" "$ETC/"
  # broker credentials: a password, or a client certificate and its key (--auth cert)
  for secret in mqtt.password mqtt-client.crt mqtt-client.key; do
    if [ -f "$node_dir/$secret" ]; then
      install -m 0600 -o "$SERVICE_USER" -g "$SERVICE_USER" "$node_dir/$secret" "$ETC/"
    else
      rm -f "$ETC/$secret"  # left over from the node's other authentication mode
    fi
  done
  install_unit "$node_dir/lobbygate-node.service"
  log "installed bundle of node $(basename "$node_dir") into $ETC"
else
  install_unit "$here/systemd/lobbygate-node.service"
  [ -f "$ETC/node.toml" ] || log "no $ETC/node.toml yet: re-run with --bundle NODE.tar.gz"
fi

# 5. Stable names for USB-RS485 adapters and scanners (/dev/lobbygate/...).
if ! cmp -s "$here/udev/99-lobbygate.rules" /etc/udev/rules.d/99-lobbygate.rules; then
  install -m 0644 "$here/udev/99-lobbygate.rules" /etc/udev/rules.d/99-lobbygate.rules
  udevadm control --reload-rules || true
  udevadm trigger --subsystem-match=tty || true
fi

# 6. Boot configuration: UART on, serial console off, pins in their safe state from power-on.
if [ "$boot" -eq 1 ]; then
  if [ -f /boot/firmware/config.txt ] || [ -f /boot/config.txt ]; then
    node_conf=()
    [ -f "$ETC/node.toml" ] && node_conf=(--node-config "$ETC/node.toml")
    "$PREFIX/current/venv/bin/lobbygate" boot-config "${node_conf[@]}"
    systemctl mask serial-getty@ttyAMA0.service serial-getty@serial0.service >/dev/null 2>&1 || true
    if systemctl list-unit-files hciuart.service >/dev/null 2>&1; then
      systemctl disable --now hciuart.service >/dev/null 2>&1 || true
    fi
  else
    log "no config.txt under /boot: not a Raspberry Pi? skipping boot configuration"
  fi
fi

# 7. Start (or restart onto the new release / bundle).
if [ "$start" -eq 1 ] && ! systemd_running; then
  log "systemd is not running (a chroot?): the unit is enabled for the next boot, not started"
elif [ "$start" -eq 1 ] && [ -f "$ETC/node.toml" ]; then
  systemctl restart lobbygate-node.service
  systemctl is-active --quiet lobbygate-node.service && log "lobbygate-node is running"
fi
log "done; 'lobbygate serial-list' shows attached adapters; reboot if boot-config changed files"
