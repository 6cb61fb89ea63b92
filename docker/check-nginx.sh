#!/usr/bin/env bash
# Validates docker/nginx.conf with `nginx -t` outside Docker.
#
# nginx resolves upstream host names when it loads a configuration, and the compose service
# names (api1, api2) only exist on the compose network. So the check runs on a temporary copy
# in which exactly those `server apiN:3000` lines point at 127.0.0.1 (nothing needs to listen:
# -t only parses and resolves). The script first proves that this substitution is the only
# difference, then runs `nginx -t` with a private prefix (no root paths, no pid/log files of
# the system's nginx), and finally checks that a deliberately broken copy is rejected.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
conf="$here/nginx.conf"
command -v nginx >/dev/null || { echo "nginx not installed (apt-get install -y nginx-light)"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs"
sed -E 's/^([[:space:]]*server[[:space:]]+)api[0-9]+(:[0-9]+)/\1127.0.0.1\2/' "$conf" > "$tmp/nginx.conf"
cp /etc/nginx/mime.types "$tmp/" 2>/dev/null || true

# Only the upstream server lines may differ.
changed="$(diff "$conf" "$tmp/nginx.conf" | grep -E '^[<>]' | grep -vE '^[<>][[:space:]]+server[[:space:]]+(api[0-9]+|127\.0\.0\.1):[0-9]+ ' || true)"
if [ -n "$changed" ]; then echo "unexpected substitution:"; echo "$changed"; exit 1; fi
[ "$(diff "$conf" "$tmp/nginx.conf" | grep -c '^>')" -ge 2 ] || { echo "no upstream server replaced"; exit 1; }

run() { nginx -t -q -p "$tmp" -c "$1" -g "pid $tmp/nginx.pid; error_log stderr;"; }
run "$tmp/nginx.conf"
echo "docker/nginx.conf ok (nginx -t, upstream hosts mapped to 127.0.0.1)"

# The check can fail: an unknown directive must be refused.
sed 's/keepalive 64;/keepalive 64; no_such_directive on;/' "$tmp/nginx.conf" > "$tmp/broken.conf"
if run "$tmp/broken.conf" 2>/dev/null; then echo "nginx -t accepted a broken config"; exit 1; fi
