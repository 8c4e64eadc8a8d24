#!/usr/bin/env bash
# Builds every artefact of a port-aws-exporter release into DIST
# (default dist/release), from the checked-out commit:
#
#   port-aws-exporter_<V>_<os>_<arch>.tar.gz   the static binary, per target
#   port-aws-exporter_<V>_<os>_<arch>.cdx.json its SBOM (CycloneDX 1.5, from
#                                              the binary's Go build information)
#   bootstrap-<arch>.zip                       the Lambda bootstrap, per Linux target
#   port-aws-exporter-image.tar                the OCI image (linux/amd64), when
#                                              linux/amd64 is a target
#   port-aws-exporter-chart-<chart V>.tgz      the Helm chart, whose default image
#                                              is this release's image
#   SHA256SUMS                                 sha256sum -c SHA256SUMS verifies them all
#
# <V> is the version: the tag when HEAD is tagged (git describe --tags).
# Each target is compiled once (scripts/build-binary.sh); the Lambda zips and
# the image are made from those same binaries, so the Linux binary of a
# release is byte for byte its Lambda bootstrap and its image's binary.
# Everything is reproducible from the commit (times from SOURCE_DATE_EPOCH,
# sorted archives with fixed owners).
#
# Usage: scripts/release.sh [--targets os/arch,...] [--no-image] [--clean]
#   --targets   default: linux/amd64,linux/arm64,darwin/amd64,darwin/arm64
#   --no-image  skip the OCI image (it needs crane)
#   --clean     remove DIST first if it holds an earlier release (a SHA256SUMS)
# Environment:
#   VERSION            version (default: git describe --tags --always --dirty)
#   SOURCE_DATE_EPOCH  time of every file (default: HEAD's commit time)
#   DIST               output directory (default: dist/release); must be empty or absent
#   GO, CRANE          go and crane commands (default: from PATH)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

targets="linux/amd64,linux/arm64,darwin/amd64,darwin/arm64"
image=1
clean=0
while [ "$#" -gt 0 ]; do
	case "$1" in
	--targets) targets="${2:?--targets needs a list such as linux/amd64,darwin/arm64}"; shift 2 ;;
	--targets=*) targets="${1#--targets=}"; shift ;;
	--no-image) image=0; shift ;;
	--clean) clean=1; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "release: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

GO="${GO:-go}"
CRANE="${CRANE:-crane}"
DIST="${DIST:-dist/release}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
COMMIT="$(git rev-parse HEAD 2>/dev/null || true)"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}"
export VERSION COMMIT SOURCE_DATE_EPOCH GO CRANE

case "$VERSION" in
*[!A-Za-z0-9._-]*) echo "release: VERSION $VERSION: letters, digits and . _ - only (it names files and the image tag)" >&2; exit 2 ;;
esac
IFS=',' read -r -a platforms <<<"$targets"
for p in "${platforms[@]}"; do
	case "$p" in
	linux/amd64 | linux/arm64 | darwin/amd64 | darwin/arm64) ;;
	*) echo "release: unsupported target $p (want linux/amd64, linux/arm64, darwin/amd64 or darwin/arm64)" >&2; exit 2 ;;
	esac
done
tools=("$GO" tar gzip zip unzip sha256sum)
if [ "$image" = 1 ] && [[ ",$targets," == *",linux/amd64,"* ]]; then tools+=("$CRANE"); else image=0; fi
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null || { echo "release: $tool not found in PATH" >&2; exit 1; }
done

if [ -e "$DIST" ] && [ -n "$(ls -A "$DIST")" ]; then
	if [ "$clean" = 1 ] && [ -f "$DIST/SHA256SUMS" ]; then
		rm -rf "$DIST"
	else
		echo "release: $DIST is not empty (--clean removes an earlier release there, or set DIST)" >&2
		exit 1
	fi
fi
mkdir -p "$DIST"
DIST="$(cd "$DIST" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A reproducible tar: sorted, fixed owner and times, no extended times.
repro_tar() {
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH}" \
		--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime "$@"
}

start=$SECONDS
for p in "${platforms[@]}"; do
	os="${p%/*}" arch="${p#*/}"
	name="port-aws-exporter_${VERSION}_${os}_${arch}"
	stage="$work/$name"
	mkdir -p "$stage"
	t0=$SECONDS
	"$repo_root/scripts/build-binary.sh" "$p" "$stage/port-aws-exporter"
	chmod 0755 "$stage/port-aws-exporter"
	echo "release: built $p in $((SECONDS - t0)) s"

	repro_tar -C "$stage" -cf - port-aws-exporter | gzip -n >"$DIST/$name.tar.gz"
	"$GO" run ./scripts/sbom -version "$VERSION" \
		-timestamp "$(date -u -d "@${SOURCE_DATE_EPOCH}" +%Y-%m-%dT%H:%M:%SZ)" \
		"$stage/port-aws-exporter" >"$DIST/$name.cdx.json"
	if [ "$os" = linux ]; then
		BOOTSTRAP="$stage/port-aws-exporter" DIST="$DIST" "$repo_root/scripts/build-lambda.sh" "$arch" >/dev/null
	fi
	if [ "$p" = linux/amd64 ] && [ "$image" = 1 ]; then
		BINARY="$stage/port-aws-exporter" DIST="$DIST" "$repo_root/scripts/build-image.sh" >/dev/null
	fi
done

# The chart, its appVersion this release's version, so that its default image
# (image.repository at appVersion) is the image built above. Chart versions
# are SemVer without a leading v; an untagged commit gets 0.0.0-<describe>.
chart_version="${VERSION#v}"
[[ "$chart_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || chart_version="0.0.0-${chart_version}"
chart="$work/chart/port-aws-exporter"
mkdir -p "$work/chart"
cp -R deploy/helm/port-aws-exporter "$chart"
sed -i -e "s/^version: .*/version: ${chart_version}/" -e "s/^appVersion: .*/appVersion: \"${VERSION}\"/" "$chart/Chart.yaml"
repro_tar -C "$work/chart" -cf - port-aws-exporter | gzip -n >"$DIST/port-aws-exporter-chart-${chart_version}.tgz"

(cd "$DIST" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort | xargs sha256sum >"$work/SHA256SUMS")
mv "$work/SHA256SUMS" "$DIST/SHA256SUMS"
echo "release: $VERSION ($COMMIT) in $DIST, $((SECONDS - start)) s:"
find "$DIST" -maxdepth 1 -type f -printf '  %s\t%f\n' | LC_ALL=C sort -k2
