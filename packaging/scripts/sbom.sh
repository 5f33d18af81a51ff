#!/bin/sh
# sbom.sh ARTIFACT DOCUMENT: writes DOCUMENT, the CycloneDX (JSON) software
# bill of materials of the cco binary inside ARTIFACT: a release archive
# (.tar.gz, .zip) or package (.deb, .rpm). GoReleaser's sboms run it (from
# dist/) for each of them; the modules listed are those the Go toolchain
# recorded in that very binary (cyclonedx-gomod bin, pinned in
# tools/go.mod), without a serial number or timestamp, so that the same
# commit gives the same document.
set -eu

main() {
    [ $# -eq 2 ] || { echo "usage: sbom.sh ARTIFACT DOCUMENT" >&2; exit 2; }
    artifact=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    document=$2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT INT TERM
    case "$artifact" in
    *.tar.gz) tar -xzf "$artifact" -C "$work" cco && bin=$work/cco ;;
    *.zip) unzip -q "$artifact" cco.exe -d "$work" && bin=$work/cco.exe ;;
    *.deb) dpkg-deb -x "$artifact" "$work" && bin=$work/usr/bin/cco ;;
    *.rpm)
        # nfpm stores absolute names (/usr/bin/cco): keep them under $work.
        (cd "$work" && rpm2cpio "$artifact" | cpio -id --quiet --no-absolute-filenames)
        bin=$work/usr/bin/cco
        ;;
    *) echo "sbom.sh: $1 is not an archive or package" >&2; exit 2 ;;
    esac
    [ -f "$bin" ] || { echo "sbom.sh: no cco binary in $1" >&2; exit 1; }
    cyclonedx-gomod bin -json -noserial -notimestamp -output "$document" "$bin"
}

main "$@"
