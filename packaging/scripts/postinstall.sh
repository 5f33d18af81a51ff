#!/bin/sh
# After install or upgrade. deb: "configure" [old-version]; rpm: 1 on
# install, 2 or more on upgrade. The service is never started here: a fresh
# install leaves it to the administrator (systemctl enable --now cco); an
# upgrade restarts it only if it was running, so it runs the new binary.
set -e

upgrade=no
case "${1:-}" in
    configure) [ -n "${2:-}" ] && upgrade=yes ;;
    [2-9]*) upgrade=yes ;;
esac

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ "$upgrade" = yes ]; then
        systemctl try-restart cco.service >/dev/null 2>&1 || true
    fi
fi
exit 0
