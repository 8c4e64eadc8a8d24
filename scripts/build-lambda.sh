#!/usr/bin/env bash
# Builds the Lambda bootstrap of port-aws-exporter for provided.al2023, for
# arm64 and amd64, as dist/bootstrap-<arch>.zip.
#
# The build is reproducible: the same commit gives byte-identical zips on any
# machine with the same Go toolchain and Info-ZIP zip, because
#   - the binary is built by build-binary.sh: static (CGO_ENABLED=0), no local
#     paths (-trimpath), no VCS stamp (-buildvcs=false); the version, commit
#     and commit date are stamped with -X;
#   - the zip holds one entry, "bootstrap", with mode 0755, a fixed timestamp
#     (SOURCE_DATE_EPOCH, default: the commit time of HEAD) taken in UTC, and no
#     extra fields (zip -X), so neither umask, clock nor time zone leak in.
#
# Compiling is all the time it takes (the zip is a second): about 500
# packages per architecture, with -trimpath, whose build cache the tests
# never fill; a warm cache makes it seconds. release.sh builds each platform
# once and hands the Linux binaries here as BOOTSTRAP.
#
# Usage: scripts/build-lambda.sh [arch...]        (default: arm64 amd64)
# Environment:
#   BOOTSTRAP          a binary already built by build-binary.sh for the one
#                      arch given: zipped as it is instead of building
#   VERSION            version string baked in (default: git describe)
#   SOURCE_DATE_EPOCH  timestamp of the zip entry (default: HEAD commit time)
#   DIST               output directory (default: dist)
#   GO                 go command (default: go)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

GO="${GO:-go}"
DIST="${DIST:-dist}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}"
# DOS timestamps in zip files start at 1980-01-01; clamp older epochs to it.
if [ "$SOURCE_DATE_EPOCH" -lt 315532800 ]; then SOURCE_DATE_EPOCH=315532800; fi

if [ "$#" -gt 0 ]; then archs=("$@"); else archs=(arm64 amd64); fi
BOOTSTRAP="${BOOTSTRAP:-}"
if [ -n "$BOOTSTRAP" ] && [ "${#archs[@]}" -ne 1 ]; then
	echo "build-lambda: BOOTSTRAP is the binary of one architecture: name exactly one" >&2
	exit 2
fi

for tool in "$GO" zip unzip sha256sum; do
	command -v "$tool" >/dev/null || { echo "build-lambda: $tool not found in PATH" >&2; exit 1; }
done

mkdir -p "$DIST"
DIST="$(cd "$DIST" && pwd)"
for arch in "${archs[@]}"; do
	case "$arch" in
	arm64 | amd64) ;;
	*) echo "build-lambda: unsupported architecture $arch (want arm64 or amd64)" >&2; exit 2 ;;
	esac

	stage="$(mktemp -d)"
	trap 'rm -rf "$stage"' EXIT

	if [ -n "$BOOTSTRAP" ]; then
		cp "$BOOTSTRAP" "$stage/bootstrap"
	else
		VERSION="$VERSION" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" GO="$GO" \
			"$repo_root/scripts/build-binary.sh" "linux/$arch" "$stage/bootstrap"
	fi

	chmod 0755 "$stage/bootstrap"
	TZ=UTC touch -d "@${SOURCE_DATE_EPOCH}" "$stage/bootstrap"

	zip_path="$DIST/bootstrap-${arch}.zip"
	rm -f "$zip_path"
	# -X: no extra attributes (uid/gid, extended timestamps); -D: no directory entries.
	(cd "$stage" && TZ=UTC zip -q -X -D -6 "$zip_path" bootstrap)
	rm -rf "$stage"
	trap - EXIT

	size_bin="$(unzip -Zl "$zip_path" bootstrap | awk '{print $4}')"
	size_zip="$(wc -c <"$zip_path" | tr -d ' ')"
	sum="$(sha256sum "$zip_path" | cut -d' ' -f1)"
	printf '%s\tversion=%s\tbootstrap=%s bytes\tzip=%s bytes\tsha256=%s\n' \
		"$zip_path" "$VERSION" "$size_bin" "$size_zip" "$sum"
done
