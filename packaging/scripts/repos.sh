#!/bin/sh
# repos.sh SITE SUITE PACKAGE...: adds a release's .deb and .rpm files to
# cco's package repositories in the folder SITE (what GitHub Pages serves at
# https://visiquate.github.io/cco/) and signs them again:
#
#   SITE/cco.asc                        the signing key's public half
#   SITE/apt/dists/SUITE/...            apt: Release, InRelease, Release.gpg,
#   SITE/apt/pool/SUITE/c/cco/*.deb          main/binary-{amd64,arm64}/Packages
#   SITE/rpm/SUITE/*.rpm, repodata/     dnf: signed packages, repomd.xml.asc
#   SITE/rpm/cco.repo, cco-beta.repo    the .repo files users install
#
# SUITE is stable or beta, each with its own packages, so that a stable
# system never meets a beta; the release workflow adds a stable release to
# both (a beta user moves on to it) and a beta to beta only. Each suite
# keeps its newest KEEP versions (default 5), so the site stays small.
#
# apt's indexes are made by Debian's apt-ftparchive (apt-utils), dnf's by
# createrepo_c; the packages are signed by rpmsign (rpm), the indexes by
# gpg. The key is REPO_SIGNING_KEY, an ASCII-armored secret key (the release
# workflow's secret; REPO_SIGNING_PASSPHRASE if it has one), imported into a
# throw-away GnuPG home. packaging/repo/cco.asc in the repository is the copy
# of its public half to compare SITE/cco.asc with.
set -eu

# The address the .repo files name; the tests serve SITE elsewhere and
# rewrite it, as they do the README's.
SITE_URL=https://visiquate.github.io/cco

main() {
    [ $# -ge 3 ] || { echo "usage: repos.sh SITE stable|beta PACKAGE..." >&2; exit 2; }
    site=$1 suite=$2
    shift 2
    case "$suite" in
    stable | beta) ;;
    *) echo "repos.sh: suite $suite is neither stable nor beta" >&2; exit 2 ;;
    esac
    : "${REPO_SIGNING_KEY:?REPO_SIGNING_KEY must hold the armored secret key of the repositories}"
    keep=${KEEP:-5}
    site=$(cd "$site" && pwd)

    GNUPGHOME=$(mktemp -d)
    export GNUPGHOME
    trap 'rm -rf "$GNUPGHOME"' EXIT INT TERM
    printf '%s\n' "$REPO_SIGNING_KEY" | gpg --batch --quiet --import
    fpr=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
    [ -n "$fpr" ] || { echo "repos.sh: REPO_SIGNING_KEY holds no secret key" >&2; exit 1; }
    printf '%s' "${REPO_SIGNING_PASSPHRASE:-}" > "$GNUPGHOME/passphrase"

    pool=$site/apt/pool/$suite/c/cco
    rpms=$site/rpm/$suite
    mkdir -p "$pool" "$rpms"
    for f in "$@"; do
        case "$f" in
        *.deb) cp "$f" "$pool/" ;;
        *.rpm)
            cp "$f" "$rpms/"
            sign_rpm "$rpms/$(basename "$f")"
            ;;
        *) echo "repos.sh: $f is neither a .deb nor a .rpm" >&2; exit 2 ;;
        esac
    done
    prune "$pool" "$rpms" "$keep"

    apt_index "$site/apt" "$suite"
    rpm_index "$rpms"
    for s in stable beta; do
        repo_file "$s" > "$site/rpm/$(repo_name "$s").repo"
    done
    gpg --batch --armor --export "$fpr" > "$site/cco.asc"
    echo "repos.sh: $site ($suite) signed by $fpr"
}

# sign: gpg with the imported key, its passphrase given without a prompt.
sign() {
    gpg --batch --yes --pinentry-mode loopback --passphrase-file "$GNUPGHOME/passphrase" \
        --local-user "$fpr" --digest-algo SHA512 "$@"
}

# sign_rpm RPM: signs the package in place (header and payload), as
# `rpm -K` and dnf's gpgcheck verify it. The gpg on PATH: Debian's rpm
# names a gpg2 that Debian does not ship.
sign_rpm() {
    rpmsign --addsign \
        --define "__gpg $(command -v gpg)" \
        --define "_gpg_name $fpr" \
        --define "_gpg_path $GNUPGHOME" \
        --define "_gpg_digest_algo sha512" \
        --define "_gpg_sign_cmd_extra_args --pinentry-mode loopback --passphrase-file $GNUPGHOME/passphrase" \
        "$1" >/dev/null
}

# prune POOL RPMS KEEP: deletes the packages of all but the newest KEEP
# versions. They sort as dpkg sorts them: a prerelease (the - in a .deb's
# file name, a ~ to dpkg) before its release, as GNU sort -V puts a ~ first.
# An .rpm's name writes that ~ as a dot.
prune() {
    versions=$(find "$1" -name 'cco_*.deb' | sed 's|.*/cco_\([^_]*\)_.*|\1|' | tr '-' '~' | sort -uV)
    n=$(printf '%s\n' "$versions" | grep -c . || true)
    [ "$n" -gt "$3" ] || return 0
    printf '%s\n' "$versions" | head -n "$((n - $3))" | while read -r v; do
        rm -f "$1/cco_$(printf '%s' "$v" | tr '~' '-')_"*.deb "$2/cco-$(printf '%s' "$v" | tr '~' '.')-"*.rpm
    done
}

# apt_index APT SUITE: Packages for each architecture and the signed Release.
apt_index() {
    dists=dists/$2
    (
        cd "$1"
        rm -f "$dists/Release" "$dists/InRelease" "$dists/Release.gpg"
        for arch in amd64 arm64; do
            dir=$dists/main/binary-$arch
            mkdir -p "$dir"
            apt-ftparchive --arch "$arch" packages "pool/$2" > "$dir/Packages"
            gzip -9 -n -c "$dir/Packages" > "$dir/Packages.gz"
        done
        apt-ftparchive \
            -o APT::FTPArchive::Release::Origin=cco \
            -o APT::FTPArchive::Release::Label=cco \
            -o "APT::FTPArchive::Release::Suite=$2" \
            -o "APT::FTPArchive::Release::Codename=$2" \
            -o "APT::FTPArchive::Release::Architectures=amd64 arm64" \
            -o APT::FTPArchive::Release::Components=main \
            -o "APT::FTPArchive::Release::Description=cco, the local gateway between Claude Code and the Anthropic API" \
            release "$dists" > "$GNUPGHOME/Release"
        mv "$GNUPGHOME/Release" "$dists/Release"
        sign --clearsign --output "$dists/InRelease" "$dists/Release"
        sign --armor --detach-sign --output "$dists/Release.gpg" "$dists/Release"
    )
}

# rpm_index RPMS: repodata/ (gzip, which every dnf and yum reads) and its
# detached signature, repomd.xml.asc, which repo_gpgcheck verifies.
rpm_index() {
    rm -rf "$1/repodata"
    createrepo_c --quiet --general-compress-type=gz "$1"
    sign --armor --detach-sign --output "$1/repodata/repomd.xml.asc" "$1/repodata/repomd.xml"
}

repo_name() {
    case "$1" in
    stable) echo cco ;;
    *) echo "cco-$1" ;;
    esac
}

# repo_file SUITE: the .repo file for /etc/yum.repos.d/.
repo_file() {
    cat <<EOF
[$(repo_name "$1")]
name=cco ($1)
baseurl=$SITE_URL/rpm/$1
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=$SITE_URL/cco.asc
EOF
}

main "$@"
