#!/bin/sh
# Runs after the package's files are gone. Its first argument says why:
#   dpkg: remove | purge | upgrade NEW-VERSION | disappear | failed-upgrade
#         | abort-install | abort-upgrade
#   rpm:  0 on an erase, 1 on an upgrade
# Only dpkg's purge deletes what the service made: its state (analytics
# database, logs), its cache and /etc/cco/cco.env. dpkg itself deletes
# /etc/cco/config.toml on purge. An rpm erase, like dpkg's remove, keeps
# them (a changed config.toml is saved as config.toml.rpmsave).
set -eu

# systemd_running: true when systemd is the running service manager.
systemd_running() {
    [ -d /run/systemd/system ]
}

# purge_state: deletes the service's files. With DynamicUser=yes systemd
# keeps them under /var/lib/private and /var/cache/private, and links
# /var/lib/cco and /var/cache/cco there.
purge_state() {
    rm -rf /var/lib/cco /var/lib/private/cco /var/cache/cco /var/cache/private/cco
    rm -f /etc/cco/cco.env
    # Anything else an administrator put in /etc/cco stays, and so does the folder.
    rmdir /etc/cco 2>/dev/null || true
}

main() {
    if [ "${1:-}" = purge ]; then
        purge_state
    fi
    # Let systemd forget the unit files that went away.
    if systemd_running; then
        systemctl daemon-reload >/dev/null 2>&1 || true
    fi
}

main "$@"
