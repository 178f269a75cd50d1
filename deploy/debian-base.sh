#!/bin/sh
# A Debian base image with Python 3 for building mdstream's image where no
# container registry is reachable: mmdebstrap (a Debian package) makes the
# root file system from Debian's own packages, and buildah imports it.
#
#   deploy/debian-base.sh [TAG [SUITE]]      # default: localhost/mdstream-debian-base bookworm
#   buildah bud --build-arg BASE=localhost/mdstream-debian-base -t mdstream .
#
# The root file system is kept in $MDSTREAM_BASE_CACHE (default build/deploy)
# and made again only when missing; the image is imported again only when the
# root file system was made again or the image is missing. Needs root (or a user namespace),
# mmdebstrap and buildah: apt-get install mmdebstrap buildah.
set -eu
tag=${1:-localhost/mdstream-debian-base}
suite=${2:-bookworm}
cache=${MDSTREAM_BASE_CACHE:-build/deploy}
tar="$cache/debian-$suite-python.tar"
mirror=http://deb.debian.org

mkdir -p "$cache"
if [ -s "$tar" ] && buildah inspect --type image "$tag" >/dev/null 2>&1; then
    echo "$tag"
    exit 0
fi
if [ ! -s "$tar" ]; then
    echo "making a Debian $suite root file system with mmdebstrap into $tar"
    mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$suite" "$tar.part" \
        "deb $mirror/debian $suite main" \
        "deb $mirror/debian $suite-updates main" \
        "deb $mirror/debian-security $suite-security main"
    mv "$tar.part" "$tar"
fi
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add --quiet "$ctr" "$tar" /
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
               --cmd python3 "$ctr"
buildah commit --quiet --rm "$ctr" "$tag" >/dev/null
trap - EXIT
echo "$tag"
