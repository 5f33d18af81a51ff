#!/bin/sh
# install.sh: installs cco, the local gateway between Claude Code and the
# Anthropic API, from a release of github.com/visiquate/cco, for the current
# user on Linux or macOS:
#
#   curl -fsSL https://raw.githubusercontent.com/visiquate/cco/main/install.sh | sh
#   curl -fsSL https://raw.githubusercontent.com/visiquate/cco/main/install.sh | sh -s -- --channel beta
#
# It downloads the release's archive for this machine and checksums.sha256
# into a private temporary folder, checks the archive against its line in
# checksums.sha256 and, when cosign is installed, checks the signature of
# checksums.sha256 with cco's release key (below). It then runs the new
# `cco version` and only then moves the binary into place. `--help` lists
# the flags and variables.
#
# Everything is in functions and the last line calls main, so a download
# of this script cut short runs nothing.
set -eu

# REPO is the GitHub repository releases come from.
REPO=visiquate/cco
# PREFIX starts every error message.
PREFIX='cco install:'

# tmp_dir and staged are removed on exit, whatever the way out: the private
# download folder and a binary copied next to its target but not yet
# renamed over it.
tmp_dir=''
staged=''

# public_key prints the public half of cco's release signing key, the same
# as packaging/cosign.pub (a test checks it).
public_key() {
    cat <<'EOF'
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAECoy6CDbUY6ZwBQs1TuaO2kj/k/zg
i65eCwhkoUqEeRVk3NLoxpsDfkposjMgbarQGlyFL4afBWtDYvMcPndbrA==
-----END PUBLIC KEY-----
EOF
}

# usage prints the help.
usage() {
    cat <<'EOF'
Usage: install.sh [--version V] [--channel stable|beta] [--dir DIR]

Installs cco for the current user from a release of github.com/visiquate/cco,
after checking the archive's SHA-256 against the release's checksums.sha256.

Flags:
  --version V        install release V, such as 2025.11.2 or v2025.11.2
                     (default: chosen by the channel)                  [$CCO_VERSION]
  --channel CHANNEL  stable: the latest release (default);
                     beta: the newest release, prereleases included    [$CCO_CHANNEL]
  --dir DIR          install cco into DIR, created if missing
                     (default: $HOME/.local/bin)                       [$CCO_INSTALL_DIR]
  -h, --help         print this help and exit

A flag wins over its variable. Other variables:
  CCO_GITHUB_API_URL  base URL of the GitHub API (default https://api.github.com)
  CCO_DOWNLOAD_URL    base URL of release downloads; files are fetched from
                      $CCO_DOWNLOAD_URL/<tag>/<file>
                      (default https://github.com/visiquate/cco/releases/download)
  GITHUB_TOKEN        if set, sent as a bearer token to the GitHub API only
                      (it raises the API's rate limit)

Needs curl or wget, tar, and sha256sum or shasum. If cosign is on PATH, the
signature of checksums.sha256 (checksums.sha256.sig) must also verify with
cco's release key, which is part of this script; without cosign it is not
checked, and the script says so.
EOF
}

# die prints its arguments as an error and exits 1.
die() {
    echo "$PREFIX $*" >&2
    exit 1
}

# usage_error prints its arguments as an error and a hint, and exits 2.
usage_error() {
    echo "$PREFIX $*" >&2
    echo "$PREFIX run 'install.sh --help' for usage" >&2
    exit 2
}

# cleanup removes what the script leaves behind; it runs on exit.
cleanup() {
    if [ -n "$staged" ]; then
        rm -f "$staged"
    fi
    if [ -n "$tmp_dir" ]; then
        rm -rf "$tmp_dir"
    fi
}

# has reports whether the command $1 is available.
has() {
    command -v "$1" >/dev/null 2>&1
}

# detect_os prints this machine's OS as the archives name it.
detect_os() {
    os_name=$(uname -s)
    case $os_name in
        Linux) echo linux ;;
        Darwin) echo darwin ;;
        MINGW* | MSYS* | CYGWIN* | Windows_NT)
            die "this is Windows: install with install.ps1 in PowerShell instead" ;;
        *) die "no cco build for this operating system ($os_name): cco runs on Linux, macOS and Windows" ;;
    esac
}

# detect_arch OS prints this machine's CPU as the archives for OS name it:
# x86_64 everywhere, aarch64 on Linux and arm64 on macOS.
detect_arch() {
    machine=$(uname -m)
    case $machine in
        x86_64 | amd64) cpu=x86_64 ;;
        arm64 | aarch64) cpu=arm64 ;;
        *) die "no cco build for this CPU ($machine): cco runs on x86_64 and arm64" ;;
    esac
    # A shell under Rosetta 2 sees x86_64 on an Apple silicon Mac.
    if [ "$1" = darwin ] && [ "$cpu" = x86_64 ] &&
        [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
        cpu=arm64
    fi
    if [ "$1" = linux ] && [ "$cpu" = arm64 ]; then
        cpu=aarch64
    fi
    echo "$cpu"
}

# fetch URL FILE [api]: downloads URL into FILE, following redirects, and
# fails on any error, HTTP errors included. With "api" it sends the GitHub
# API's headers and, if GITHUB_TOKEN is set, the token.
fetch() {
    if [ "$downloader" = curl ]; then
        # Headers go in a config on stdin, so the token stays out of `ps`.
        {
            if [ "${3:-}" = api ]; then
                echo 'header = "Accept: application/vnd.github+json"'
                echo 'header = "X-GitHub-Api-Version: 2022-11-28"'
                if [ -n "${GITHUB_TOKEN:-}" ]; then
                    echo "header = \"Authorization: Bearer $GITHUB_TOKEN\""
                fi
            fi
        } | curl -fsSL --connect-timeout 30 --retry 2 -K - -o "$2" "$1"
        return
    fi
    fetch_url=$1
    fetch_kind=${3:-}
    # BusyBox wget knows only a few options; GNU wget would otherwise retry
    # a broken download 20 times.
    set -- -q -T 60 -O "$2"
    if [ "$gnu_wget" = yes ]; then
        set -- "$@" --tries=2 --waitretry=1
    fi
    if [ "$fetch_kind" = api ]; then
        set -- "$@" --header 'Accept: application/vnd.github+json' \
            --header 'X-GitHub-Api-Version: 2022-11-28'
        if [ -n "${GITHUB_TOKEN:-}" ]; then
            set -- "$@" --header "Authorization: Bearer $GITHUB_TOKEN"
        fi
    fi
    wget "$@" "$fetch_url"
}

# json_values KEY prints the value of every "KEY": member of the JSON on
# stdin, in order: strings without their quotes, true, false and numbers as
# they are. It is enough for GitHub's release objects, indented or not: a
# key's quotes can only be unescaped outside strings, and the values read
# hold no commas.
json_values() {
    tr ',' '\n' |
        sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^\",}[:space:]]*\).*/\1/p"
}

# check_tag TAG fails unless TAG looks like a release tag.
check_tag() {
    case $1 in
        v[0-9]*) ;;
        *) die "unexpected release tag '$1' from $api_url" ;;
    esac
    case $1 in
        *[!A-Za-z0-9._+-]*) die "unexpected release tag '$1' from $api_url" ;;
    esac
}

# latest_tag prints the tag of the latest stable release.
latest_tag() {
    url="$api_url/repos/$REPO/releases/latest"
    if ! fetch "$url" "$tmp_dir/latest.json" api; then
        die "cannot read the latest release from $url (no stable release yet, or the API's rate limit: set GITHUB_TOKEN; or pick one with --version or --channel beta)"
    fi
    tag=$(json_values tag_name <"$tmp_dir/latest.json" | sed -n 1p)
    if [ -z "$tag" ]; then
        die "no release tag in the answer from $url"
    fi
    check_tag "$tag"
    echo "$tag"
}

# newest_tag prints the tag of the newest release, prereleases included,
# drafts not: the first published one in GitHub's list, which is newest
# first.
newest_tag() {
    url="$api_url/repos/$REPO/releases?per_page=30"
    if ! fetch "$url" "$tmp_dir/releases.json" api; then
        die "cannot list the releases at $url (the API's rate limit? set GITHUB_TOKEN)"
    fi
    # Each release has one tag_name and one draft; pair them in order.
    json_values tag_name <"$tmp_dir/releases.json" >"$tmp_dir/tags"
    json_values draft <"$tmp_dir/releases.json" >"$tmp_dir/drafts"
    if [ "$(wc -l <"$tmp_dir/tags" | tr -d ' ')" != "$(wc -l <"$tmp_dir/drafts" | tr -d ' ')" ]; then
        die "cannot read the list of releases from $url"
    fi
    tag=$(paste -d ' ' "$tmp_dir/tags" "$tmp_dir/drafts" | sed -n 's/^\([^ ]*\) false$/\1/p' | sed -n 1p)
    if [ -z "$tag" ]; then
        die "no published release at $url"
    fi
    check_tag "$tag"
    echo "$tag"
}

# sha256 FILE prints the SHA-256 of FILE in lower-case hex.
sha256() {
    if [ "$hasher" = sha256sum ]; then
        sha256sum <"$1" | cut -d ' ' -f 1
    else
        shasum -a 256 <"$1" | cut -d ' ' -f 1
    fi
}

# expected_sum FILE NAME prints the hash on NAME's line of the checksums file
# FILE ("HASH  NAME", as sha256sum writes it), or nothing.
expected_sum() {
    while read -r sum_field name_field || [ -n "${sum_field:-}" ]; do
        if [ "${name_field#\*}" = "$2" ]; then
            echo "$sum_field" | tr 'A-F' 'a-f'
            return 0
        fi
        sum_field=''
    done <"$1"
}

# verify_signature checks checksums.sha256 against its cosign signature, or
# says that it cannot.
verify_signature() {
    if ! has cosign; then
        echo "Note: cosign is not installed, so the signature of checksums.sha256 was not checked (the SHA-256 checksum was)."
        return 0
    fi
    if ! fetch "$base_url/checksums.sha256.sig" "$tmp_dir/checksums.sha256.sig"; then
        die "cannot download $base_url/checksums.sha256.sig: without it the release cannot be verified; nothing installed"
    fi
    public_key >"$tmp_dir/cosign.pub"
    if ! cosign verify-blob --key "$tmp_dir/cosign.pub" \
        --signature "$tmp_dir/checksums.sha256.sig" \
        --insecure-ignore-tlog=true "$tmp_dir/checksums.sha256" >"$tmp_dir/cosign.log" 2>&1; then
        cat "$tmp_dir/cosign.log" >&2
        die "the signature of checksums.sha256 does not verify with cco's release key (with cosign 2 or later): refusing to install"
    fi
    echo "Verified the signature of checksums.sha256 with cosign."
}

# verify_archive checks the archive against its line in checksums.sha256.
verify_archive() {
    want=$(expected_sum "$tmp_dir/checksums.sha256" "$archive")
    if [ -z "$want" ]; then
        die "checksums.sha256 of $tag has no line for $archive: refusing to install"
    fi
    if [ "${#want}" -ne 64 ] || [ -n "$(echo "$want" | tr -d '0-9a-f')" ]; then
        die "checksums.sha256 of $tag has a malformed line for $archive: refusing to install"
    fi
    got=$(sha256 "$tmp_dir/$archive")
    if [ "$got" != "$want" ]; then
        die "checksum mismatch for $archive: it has SHA-256 $got, but checksums.sha256 says $want; refusing to install"
    fi
    echo "Verified the SHA-256 of $archive."
}

# install_binary puts the checked binary $1 in place as $install_dir/cco: a
# copy next to the target, made executable, then renamed over it.
install_binary() {
    if ! mkdir -p "$install_dir"; then
        die "cannot create $install_dir"
    fi
    if [ -d "$install_dir/cco" ]; then
        die "$install_dir/cco is a folder"
    fi
    staged="$install_dir/.cco.install.$$"
    if ! cp "$1" "$staged" || ! chmod 755 "$staged"; then
        die "cannot write to $install_dir"
    fi
    if [ "$os" = darwin ]; then
        xattr -d com.apple.quarantine "$staged" >/dev/null 2>&1 || true
    fi
    if ! mv -f "$staged" "$install_dir/cco"; then
        die "cannot move the new cco into $install_dir"
    fi
    staged=''
}

# path_hint says how to put the install folder on PATH when it is not, and
# warns when another cco comes first.
path_hint() {
    case ":$PATH:" in
        *":$install_dir:"*)
            found=$(command -v cco 2>/dev/null || true)
            if [ -n "$found" ] && [ "$found" != "$install_dir/cco" ]; then
                echo "Note: $found comes before $install_dir/cco on your PATH."
            fi
            return 0
            ;;
    esac
    echo
    echo "$install_dir is not on your PATH. To add it, run:"
    case ${SHELL:-} in
        */zsh) echo "  echo 'export PATH=\"$install_dir:\$PATH\"' >> ~/.zshrc" ;;
        */bash)
            if [ "$os" = darwin ]; then
                echo "  echo 'export PATH=\"$install_dir:\$PATH\"' >> ~/.bash_profile"
            else
                echo "  echo 'export PATH=\"$install_dir:\$PATH\"' >> ~/.bashrc"
            fi
            ;;
        */fish) echo "  fish_add_path '$install_dir'" ;;
        *) echo "  echo 'export PATH=\"$install_dir:\$PATH\"' >> ~/.profile" ;;
    esac
    echo "and open a new terminal."
}

main() {
    version=${CCO_VERSION:-}
    channel=${CCO_CHANNEL:-stable}
    install_dir=${CCO_INSTALL_DIR:-}
    while [ $# -gt 0 ]; do
        case $1 in
            --version | --channel | --dir)
                if [ $# -lt 2 ]; then
                    usage_error "$1 needs a value"
                fi
                case $1 in
                    --version) version=$2 ;;
                    --channel) channel=$2 ;;
                    --dir) install_dir=$2 ;;
                esac
                shift 2
                ;;
            --version=*) version=${1#*=}; shift ;;
            --channel=*) channel=${1#*=}; shift ;;
            --dir=*) install_dir=${1#*=}; shift ;;
            -h | --help) usage; exit 0 ;;
            *) usage_error "unknown argument: $1" ;;
        esac
    done
    case $channel in
        stable | beta) ;;
        *) usage_error "unknown channel '$channel': use stable or beta" ;;
    esac
    if [ -n "$version" ]; then
        version=${version#v}
        case $version in
            [0-9]*) ;;
            *) usage_error "bad version '$version': use a release version such as 2025.11.2" ;;
        esac
        case $version in
            *[!A-Za-z0-9._+-]*) usage_error "bad version '$version': use a release version such as 2025.11.2" ;;
        esac
    fi
    if [ -z "$install_dir" ]; then
        if [ -z "${HOME:-}" ]; then
            die "HOME is not set: choose a folder with --dir or CCO_INSTALL_DIR"
        fi
        install_dir=$HOME/.local/bin
    fi
    case $install_dir in
        /*) ;;
        *) install_dir=$(pwd)/$install_dir ;;
    esac
    if [ -n "${GITHUB_TOKEN:-}" ]; then
        case $GITHUB_TOKEN in
            *[!A-Za-z0-9_.-]*) die "GITHUB_TOKEN holds characters no GitHub token has" ;;
        esac
    fi
    api_url=${CCO_GITHUB_API_URL:-https://api.github.com}
    api_url=${api_url%/}
    download_url=${CCO_DOWNLOAD_URL:-https://github.com/$REPO/releases/download}
    download_url=${download_url%/}

    os=$(detect_os)
    arch=$(detect_arch "$os")
    if has curl; then
        downloader=curl
    elif has wget; then
        downloader=wget
        gnu_wget=no
        if wget --version 2>/dev/null | grep 'GNU Wget' >/dev/null; then
            gnu_wget=yes
        fi
    else
        die "neither curl nor wget is installed"
    fi
    if has sha256sum; then
        hasher=sha256sum
    elif has shasum; then
        hasher=shasum
    else
        die "neither sha256sum nor shasum is installed, so the download cannot be checked"
    fi
    for tool in tar mktemp uname; do
        if ! has "$tool"; then
            die "$tool is not installed"
        fi
    done

    trap cleanup EXIT
    trap 'exit 1' HUP INT TERM
    tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/cco-install.XXXXXX") || die "cannot make a temporary folder"

    if [ -n "$version" ]; then
        tag=v$version
    elif [ "$channel" = beta ]; then
        tag=$(newest_tag)
    else
        tag=$(latest_tag)
    fi
    version=${tag#v}
    archive=cco-v$version-$os-$arch.tar.gz
    base_url=$download_url/$tag
    echo "Installing cco $tag ($os-$arch) into $install_dir"

    if ! fetch "$base_url/$archive" "$tmp_dir/$archive"; then
        die "cannot download $base_url/$archive: is $tag a cco release with a build for $os-$arch?"
    fi
    if ! fetch "$base_url/checksums.sha256" "$tmp_dir/checksums.sha256"; then
        die "cannot download $base_url/checksums.sha256: without it the archive cannot be verified; nothing installed"
    fi
    verify_signature
    verify_archive

    mkdir "$tmp_dir/x"
    if ! tar -xzf "$tmp_dir/$archive" -C "$tmp_dir/x" cco || [ ! -f "$tmp_dir/x/cco" ]; then
        die "$archive holds no cco binary"
    fi
    chmod 755 "$tmp_dir/x/cco"
    if [ "$os" = darwin ]; then
        xattr -d com.apple.quarantine "$tmp_dir/x/cco" >/dev/null 2>&1 || true
    fi
    if ! "$tmp_dir/x/cco" version </dev/null >"$tmp_dir/version.txt" 2>&1; then
        cat "$tmp_dir/version.txt" >&2
        die "the downloaded cco does not run on this machine: nothing installed"
    fi

    install_binary "$tmp_dir/x/cco"
    echo "Installed $install_dir/cco: $(sed -n 1p "$tmp_dir/version.txt")"
    path_hint
}

main "$@"
