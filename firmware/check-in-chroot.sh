#!/usr/bin/env bash
# Run the deploy path of the README on a blank Debian 12 in a chroot, as a technician would:
# install-console.sh, provision a node, install-node.sh with its bundle, then start Mosquitto,
# the console and the node (mock GPIO) and wait for the node to show as online in the console's
# API.  Needs root, debootstrap and network (Debian and PyPI).  Takes a few minutes; not part
# of the test suite.
#
#   sudo ./firmware/check-in-chroot.sh [DIR]      (default DIR: a new temporary directory)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${1:-$(mktemp -d /tmp/lobbygate-chroot.XXXXXX)}"
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "apt-get install debootstrap" >&2; exit 1; }

[ -x "$root/bin/bash" ] || debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
rm -rf "$root/src" && mkdir -p "$root/src"
git -C "$(dirname "$here")" archive HEAD | tar -x -C "$root/src"
cp /etc/resolv.conf "$root/etc/resolv.conf"
grep -q "hub.local" "$root/etc/hosts" 2>/dev/null || printf '127.0.0.1 localhost hub.local\n' >> "$root/etc/hosts"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT

chroot "$root" /bin/bash -c 'dpkg -s systemd ca-certificates >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd ca-certificates >/dev/null; }'
# the host's CA bundle, for a network whose proxy re-signs TLS (pip inside the chroot)
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"

# shellcheck disable=SC2016  # the script below runs inside the chroot, expanded there
chroot "$root" /bin/bash -euo pipefail -c '
cd /src
bash firmware/install-console.sh --site chroot-site --broker-host hub.local
bash firmware/install-console.sh --site chroot-site --broker-host hub.local   # idempotent
lobbygate provision node add gate --dir /etc/lobbygate/site
bash firmware/install-node.sh --bundle /etc/lobbygate/site/bundles/gate.tar.gz --no-boot
bash firmware/install-node.sh --bundle /etc/lobbygate/site/bundles/gate.tar.gz --no-boot
sed "s/pin_factory = \"lgpio\"/pin_factory = \"mock\"/" /etc/lobbygate/node.toml > /etc/lobbygate/node-check.toml
mkdir -p /run/mosquitto && chown mosquitto /run/mosquitto
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; }
trap cleanup EXIT
mosquitto -c /etc/mosquitto/mosquitto.conf >/tmp/mosquitto.log 2>&1 & pids+=($!)
pw="$(head -c 18 /dev/urandom | base64)"
printf "%s\n" "$pw" | runuser -u lobbygate -- lobbygate user --config /etc/lobbygate/site/console/console.toml add checker --role admin --password-stdin >/dev/null 2>&1 || true
runuser -u lobbygate -- /opt/lobbygate/current/venv/bin/lobbygate console --config /etc/lobbygate/site/console/console.toml --port 18080 >/tmp/console.log 2>&1 & pids+=($!)
runuser -u lobbygate -- /opt/lobbygate/current/venv/bin/lobbygate node --config /etc/lobbygate/node-check.toml >/tmp/node.log 2>&1 & pids+=($!)
for _ in $(seq 60); do
  if /opt/lobbygate/current/venv/bin/python - "$pw" <<PY
import base64, json, sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:18080/api/v1/nodes")
req.add_header("Authorization", "Basic " + base64.b64encode(f"checker:{sys.argv[1]}".encode()).decode())
try:
    items = json.load(urllib.request.urlopen(req, timeout=2))["items"]
except Exception:
    sys.exit(1)
sys.exit(0 if any(n["node"] == "gate" and n["state"] == "online" for n in items) else 1)
PY
  then echo "check-in-chroot: node gate is online in the console"; exit 0; fi
  sleep 1
done
echo "check-in-chroot: node gate never came online" >&2
tail -n 20 /tmp/console.log /tmp/node.log /tmp/mosquitto.log >&2
exit 1
'
