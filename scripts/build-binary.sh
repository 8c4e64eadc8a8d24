#!/usr/bin/env bash
# Builds one static port-aws-exporter binary for a platform, the way every
# artefact of a release is built (release.sh, build-lambda.sh and
# build-image.sh all come here, so a release compiles each platform once):
#   - CGO_ENABLED=0: static, runs on any Linux (provided.al2023, distroless,
#     scratch) and on macOS without a C toolchain;
#   - -trimpath, -buildvcs=false, -buildid= and -s -w: no local paths, no
#     build-machine details, so the same commit gives the same bytes;
#   - -tags lambda.norpc: drops aws-lambda-go's legacy net/rpc runtime, which
#     provided.al2023 never uses, so the Linux binaries are the Lambda bootstrap;
#   - the version, commit and commit date stamped into internal/version
#     (`port-aws-exporter version`).
#
# Usage: scripts/build-binary.sh OS/ARCH OUTPUT
# Environment:
#   VERSION            version string (default: git describe --tags --always --dirty)
#   COMMIT             commit (default: git rev-parse HEAD)
#   SOURCE_DATE_EPOCH  the commit date stamped (default: HEAD's commit time)
#   GO                 go command (default: go)
set -euo pipefail

if [ "$#" -ne 2 ] || [[ "$1" != */* ]]; then
	echo "usage: $0 OS/ARCH OUTPUT (e.g. linux/arm64 dist/port-aws-exporter)" >&2
	exit 2
fi
platform="$1"
out="$2"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

GO="${GO:-go}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
COMMIT="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}"
date_iso="$(date -u -d "@${SOURCE_DATE_EPOCH}" +%Y-%m-%dT%H:%M:%SZ)"

pkg=github.com/port-labs/port-aws-exporter/internal/version
mkdir -p "$(dirname "$out")"
CGO_ENABLED=0 GOOS="${platform%/*}" GOARCH="${platform#*/}" "$GO" build \
	-trimpath -buildvcs=false -tags lambda.norpc \
	-ldflags "-s -w -buildid= -X ${pkg}.version=${VERSION} -X ${pkg}.commit=${COMMIT} -X ${pkg}.date=${date_iso}" \
	-o "$out" ./cmd/port-aws-exporter
