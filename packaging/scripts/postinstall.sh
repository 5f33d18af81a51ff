#!/bin/sh
# Runs after the package's files are in place, on a first install and on an
# upgrade. Its first argument says which:
#   dpkg: configure [VERSION-BEFORE]   (no VERSION-BEFORE on a first install)
#         abort-upgrade, abort-remove, abort-deconfigure ...   (undoing)
#   rpm:  1 on a first install, 2 or more on an upgrade
# It never starts or enables cco.service: on a first install that is the
# administrator's choice (systemctl enable --now cco). On an upgrade it
# restarts the service only if it is running, so that it runs the new binary.
# With no systemd running (a container, a chroot) there is nothing to tell.
set -eu

# systemd_running: true when systemd is the running service manager.
systemd_running() {
    [ -d /run/systemd/system ]
}

# is_upgrade ARG [VERSION-BEFORE]: true when this run replaces an installed cco.
is_upgrade() {
    case "${1:-}" in
        configure) [ -n "${2:-}" ] ;;
        [2-9] | [1-9][0-9]*) true ;;
        *) false ;;
    esac
}

main() {
    if ! systemd_running; then
        return 0
    fi
    # Let systemd read the unit files this package just installed.
    systemctl daemon-reload >/dev/null 2>&1 || true
    if is_upgrade "$@"; then
        systemctl try-restart cco.service >/dev/null 2>&1 || true
    fi
}

main "$@"
