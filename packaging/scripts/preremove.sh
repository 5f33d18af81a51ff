#!/bin/sh
# Runs before the package's files are removed: on a removal, and also on an
# upgrade, where the old package's files give way to the new ones. Its first
# argument says which:
#   dpkg: remove | upgrade NEW-VERSION | deconfigure ... | failed-upgrade ...
#   rpm:  0 on an erase, 1 on an upgrade
# Only a real removal (dpkg "remove", rpm 0) stops and disables the system
# service; an upgrade leaves it alone (postinstall restarts it). Disabling
# happens here, while the unit file still says what its [Install] section
# enabled; with no systemd running only the enablement links go.
set -eu

# systemd_running: true when systemd is the running service manager.
systemd_running() {
    [ -d /run/systemd/system ]
}

main() {
    case "${1:-}" in
        remove | 0) ;;
        *) return 0 ;;
    esac
    if systemd_running; then
        systemctl disable --now cco.service >/dev/null 2>&1 || true
    elif command -v systemctl >/dev/null 2>&1; then
        systemctl disable cco.service >/dev/null 2>&1 || true
    fi
    # Links an administrator made with `systemctl --global enable cco` for
    # every user would point at a unit that is about to go.
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --global disable cco.service >/dev/null 2>&1 || true
    fi
}

main "$@"
