#!/bin/sh
# Renders what the archives and packages ship besides the binary: the man
# page (plain and gzipped for the packages) and the shell completions, into
# packaging/generated/. GoReleaser runs it before it builds; the output is
# the same for the same commit (gzip -n keeps no name or time).
set -eu

main() {
    cd "$(dirname "$0")/../.."
    out=packaging/generated
    rm -rf "$out"
    mkdir -p "$out/completions"
    bin="$out/cco-docs"
    go build -o "$bin" ./cmd/cco
    "$bin" man > "$out/cco.1"
    gzip -n -9 -c "$out/cco.1" > "$out/cco.1.gz"
    "$bin" completion bash > "$out/completions/cco.bash"
    "$bin" completion zsh > "$out/completions/_cco"
    "$bin" completion fish > "$out/completions/cco.fish"
    "$bin" completion powershell > "$out/completions/cco.ps1"
    rm -f "$bin"
}

main "$@"
