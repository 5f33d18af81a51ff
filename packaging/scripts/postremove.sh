#!/bin/sh
# After removal. deb: "remove", "purge", "upgrade", ...; rpm: 0 on erase, 1
# on upgrade. Purging also deletes what the service kept: its state
# (analytics, logs) and cache. dpkg itself deletes /etc/cco/config.toml on
# purge; rpm keeps a changed one as config.toml.rpmsave.
set -e

case "${1:-}" in
    purge)
        rm -rf /var/lib/cco /var/lib/private/cco /var/cache/cco /var/cache/private/cco
        rm -f /etc/cco/cco.env
        rmdir /etc/cco 2>/dev/null || true
        ;;
esac
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
