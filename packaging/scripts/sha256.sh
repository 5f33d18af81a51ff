#!/bin/sh
# sha256.sh ARTIFACT OUTPUT: writes ARTIFACT's checksum in `sha256sum -c`
# form ("HASH  NAME", the name without folders) to OUTPUT. GoReleaser runs
# it for every archive, making <archive>.sha256.
set -eu

main() {
    [ $# -eq 2 ] || { echo "usage: sha256.sh ARTIFACT OUTPUT" >&2; exit 2; }
    cd "$(dirname "$1")"
    sha256sum "$(basename "$1")" > "$(basename "$2")"
}

main "$@"
