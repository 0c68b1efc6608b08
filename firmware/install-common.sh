#!/usr/bin/env bash
# Shared steps of install-node.sh and install-console.sh (sourced, not run).  Every step is
# idempotent: it checks before it changes, so re-running an installer repairs or upgrades.

PREFIX="${LOBBYGATE_PREFIX:-/opt/lobbygate}"   # releases/<version>/venv, current -> releases/<v>
ETC="${LOBBYGATE_ETC:-/etc/lobbygate}"
STATE="${LOBBYGATE_STATE:-/var/lib/lobbygate}"
SERVICE_USER="lobbygate"
UNIT_DIR="/etc/systemd/system"

log() { printf '%s: %s\n' "${0##*/}" "$*"; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
}

# apt_install PKG... -- install the Debian packages that are missing (and exist in the archive).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# apt_available PKG -- true if the archive has PKG (python3-lgpio exists on Raspberry Pi OS only).
apt_available() {
  apt-cache show "$1" >/dev/null 2>&1
}

# ensure_user -- the system user lobbygate (no login, home = the state directory), its state
# directory and /etc/lobbygate.
ensure_user() {
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    log "creating system user $SERVICE_USER"
    useradd --system --user-group --home-dir "$STATE" --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE"
  install -d -m 0755 -o root -g root "$ETC"
}

# add_groups GROUP... -- put the service user in these groups (created as system groups when
# missing: a plain Debian has no gpio group).
add_groups() {
  local g
  for g in "$@"; do
    getent group "$g" >/dev/null || groupadd --system "$g"
    id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx "$g" || usermod -a -G "$g" "$SERVICE_USER"
  done
}

# source_version SRC -- the lobbygate version of a checkout directory or a wheel/sdist file.
source_version() {
  local src="$1"
  if [ -d "$src" ]; then
    sed -n 's/^__version__ = "\([^"]*\)"$/\1/p' "$src/lobbygate/__init__.py"
  else
    basename "$src" | sed -n 's/^lobbygate-\([0-9][0-9.]*\)[-.].*$/\1/p'
  fi
}

# install_release SRC -- a venv with lobbygate in $PREFIX/releases/<version> (kept if already
# complete), then $PREFIX/current pointing at it (switched atomically; the old one -> previous).
install_release() {
  local src="$1" ver rel cur
  ver="$(source_version "$src")"
  [ -n "$ver" ] || die "cannot tell the lobbygate version of $src"
  rel="$PREFIX/releases/$ver"
  install -d -m 0755 "$PREFIX/releases"
  if [ ! -f "$rel/.complete" ]; then
    log "installing lobbygate $ver into $rel"
    rm -rf "$rel"
    python3 -m venv --system-site-packages "$rel/venv"
    "$rel/venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$rel/venv/bin/pip" install --quiet --disable-pip-version-check "$src"
    touch "$rel/.complete"
  fi
  cur="$(readlink "$PREFIX/current" 2>/dev/null || true)"
  if [ "$cur" != "releases/$ver" ]; then
    if [ -n "$cur" ]; then
      ln -sfn "$cur" "$PREFIX/.previous.tmp" && mv -Tf "$PREFIX/.previous.tmp" "$PREFIX/previous"
    fi
    ln -sfn "releases/$ver" "$PREFIX/.current.tmp" && mv -Tf "$PREFIX/.current.tmp" "$PREFIX/current"
    log "lobbygate $ver is current"
  fi
  ln -sfn "$PREFIX/current/venv/bin/lobbygate" /usr/local/bin/lobbygate
}

# install_unit FILE -- copy a systemd unit into place (only if it changed) and enable it.
# True when systemd is the running init (false in a chroot building an SD-card image, where
# units are installed and enabled for the first boot but nothing is reloaded or started).
systemd_running() {
  [ -d /run/systemd/system ]
}

install_unit() {
  local file="$1" name
  name="$(basename "$file")"
  if ! cmp -s "$file" "$UNIT_DIR/$name"; then
    install -m 0644 "$file" "$UNIT_DIR/$name"
    if systemd_running; then systemctl daemon-reload; fi
  fi
  systemctl enable "$name" >/dev/null 2>&1 || systemctl enable "$name"
}

# install_docs DIR -- the README the units' Documentation= points at.
install_docs() {
  install -d -m 0755 /usr/share/doc/lobbygate
  install -m 0644 "$1/README.md" /usr/share/doc/lobbygate/README.md
}
