#!/bin/sh
# Before removal. deb: "remove", "upgrade", "deconfigure" or
# "failed-upgrade"; rpm: 0 on erase, 1 on upgrade. Only a real removal stops
# and disables the system service; an upgrade leaves it running.
set -e

case "${1:-}" in
    remove | deconfigure | 0)
        if [ -d /run/systemd/system ]; then
            systemctl disable --now cco.service >/dev/null 2>&1 || true
        fi
        ;;
esac
exit 0
