#!/usr/bin/env bash
# Installs focusbox as a systemd service on a device (Raspberry Pi OS, Debian, Ubuntu, JetPack).
#
#   npm ci && npm run build           # in a checkout, on the device or one of the same arch
#   sudo scripts/install.sh [--prefix /opt/focusbox] [--user focusbox] [--no-start]
#
# Copies the built tree to PREFIX (production dependencies only), creates the service user
# (in the gpio, video and dialout groups that exist), keeps /etc/focusbox/config.json if
# present, installs systemd/focusbox.service with these paths, enables and starts it.
set -euo pipefail

PREFIX=/opt/focusbox
SERVICE_USER=focusbox
START=1
STATE_DIR=/var/lib/focusbox
CONFIG=/etc/focusbox/config.json
UNIT=/etc/systemd/system/focusbox.service

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --user) SERVICE_USER="$2"; shift 2 ;;
    --no-start) START=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

SRC="$(cd "$(dirname "$0")/.." && pwd)"
die() { echo "install.sh: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "run as root (sudo)"
command -v systemctl >/dev/null || die "systemd is required"
NODE="$(command -v node)" || die "node (>= 20) is required: apt-get install nodejs, or NodeSource"
"$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "node >= 20 is required (found $("$NODE" --version))"
command -v systemd-notify >/dev/null || die "systemd-notify is missing (package systemd)"
[[ -f "$SRC/dist/cli/main.js" ]] || die "no build in $SRC: run npm ci && npm run build first"

echo "installing focusbox from $SRC to $PREFIX"
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
for group in gpio video dialout; do
  if getent group "$group" >/dev/null; then usermod -aG "$group" "$SERVICE_USER"; fi
done

mkdir -p "$PREFIX"
tar -C "$SRC" --exclude=./.git --exclude=./test --exclude=./test-output --exclude=./.focusbox -cf - . | tar -C "$PREFIX" -xf -
(cd "$PREFIX" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
chown -R root:root "$PREFIX"
ln -sf "$PREFIX/dist/cli/main.js" /usr/local/bin/focusbox
chmod 755 "$PREFIX/dist/cli/main.js"

mkdir -p "$(dirname "$CONFIG")"
[[ -f "$CONFIG" ]] || echo '{ "server": { "host": "0.0.0.0" } }' > "$CONFIG"
chmod 644 "$CONFIG"

sed -e "s|/usr/bin/node|$NODE|" -e "s|/opt/focusbox|$PREFIX|g" -e "s|^User=focusbox|User=$SERVICE_USER|" -e "s|^Group=focusbox|Group=$SERVICE_USER|" \
  "$SRC/systemd/focusbox.service" > "$UNIT"
systemd-analyze verify "$UNIT" || die "the installed unit does not verify"
systemctl daemon-reload
systemctl enable focusbox.service

if [[ $START -eq 1 ]]; then
  systemctl restart focusbox.service
  systemctl --no-pager --lines=5 status focusbox.service || true
fi
echo
echo "focusbox installed. Config: $CONFIG  State: $STATE_DIR"
echo "The page asks for the API token once; print it with:"
echo "  sudo -u $SERVICE_USER FOCUSBOX_STATE_DIR=$STATE_DIR focusbox token"
