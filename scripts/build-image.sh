#!/usr/bin/env bash
# Builds the container image of port-aws-exporter (serve) without a container
# engine: a static linux/amd64 binary on an empty base, assembled with crane
# (go-containerregistry) and written as an OCI image layout tarball,
# dist/port-aws-exporter-image.tar (`docker load`, `podman load`, `crane push`
# and `skopeo copy oci-archive:` read it).
#
# The image holds only:
#   /usr/local/bin/port-aws-exporter   the binary (CGO_ENABLED=0, -trimpath)
#   /etc/ssl/certs/ca-certificates.crt CA bundle for TLS to AWS and Port (the
#                                      first path Go's crypto/x509 reads on Linux)
#   /etc/passwd, /etc/group            root and the non-root user nonroot (65532)
#   /tmp                               mode 1777 (the chart mounts an emptyDir there)
# and runs as 65532:65532 with ENTRYPOINT port-aws-exporter serve.
#
# crane mutate works on registry references, so the script serves crane's
# own in-memory registry on 127.0.0.1 for the time of the build.
#
# Usage: scripts/build-image.sh
# Environment:
#   BINARY             a linux/amd64 binary already built by build-binary.sh
#                      (release.sh passes it): used instead of building
#   VERSION            version string baked in (default: git describe)
#   SOURCE_DATE_EPOCH  file times in the layer (default: HEAD commit time)
#   DIST               output directory (default: dist)
#   GO, CRANE          go and crane commands (default: from PATH)
#   CA_BUNDLE          CA certificates to copy (default: Debian's ca-certificates bundle)
#   IMAGE_NAME         the name recorded in the tarball, tagged VERSION
#                      (default: ghcr.io/port-labs/port-aws-exporter, the chart's image.repository)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

GO="${GO:-go}"
CRANE="${CRANE:-crane}"
DIST="${DIST:-dist}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
IMAGE_NAME="${IMAGE_NAME:-ghcr.io/port-labs/port-aws-exporter}"
UID_NONROOT=65532

for tool in "$GO" "$CRANE" tar; do
	command -v "$tool" >/dev/null || { echo "build-image: $tool not found in PATH" >&2; exit 1; }
done
[ -s "$CA_BUNDLE" ] || { echo "build-image: CA bundle $CA_BUNDLE missing (apt-get install ca-certificates, or set CA_BUNDLE)" >&2; exit 1; }

mkdir -p "$DIST"
DIST="$(cd "$DIST" && pwd)"
work="$(mktemp -d)"
registry_pid=""
cleanup() {
	if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

rootfs="$work/rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/home/nonroot"
if [ -n "${BINARY:-}" ]; then
	cp "$BINARY" "$rootfs/usr/local/bin/port-aws-exporter"
else
	VERSION="$VERSION" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" GO="$GO" \
		"$repo_root/scripts/build-binary.sh" linux/amd64 "$rootfs/usr/local/bin/port-aws-exporter"
fi
cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n' "$UID_NONROOT" "$UID_NONROOT" >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:%d:\n' "$UID_NONROOT" >"$rootfs/etc/group"
chmod 0755 "$rootfs/usr/local/bin/port-aws-exporter"
chmod 0644 "$rootfs/etc/ssl/certs/ca-certificates.crt" "$rootfs/etc/passwd" "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
# A reproducible layer: sorted entries, fixed owners and times.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH}" \
	--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-C "$rootfs" -cf "$work/layer.tar" .
# /home/nonroot belongs to the user.
tar --owner="$UID_NONROOT" --group="$UID_NONROOT" --numeric-owner --mtime="@${SOURCE_DATE_EPOCH}" \
	--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-C "$rootfs" -rf "$work/layer.tar" ./home/nonroot

"$CRANE" registry serve --address 127.0.0.1:0 >"$work/registry.log" 2>&1 &
registry_pid=$!
port=""
for _ in $(seq 50); do
	port="$(sed -n 's/.*serving on port \([0-9][0-9]*\).*/\1/p' "$work/registry.log")"
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "build-image: crane registry did not start: $(cat "$work/registry.log")" >&2; exit 1; }
ref="127.0.0.1:${port}/port-aws-exporter"

"$CRANE" append --insecure --oci-empty-base -f "$work/layer.tar" -t "$ref:layer" >/dev/null
"$CRANE" mutate --insecure "$ref:layer" -t "$ref:${VERSION}" \
	--set-platform linux/amd64 \
	--entrypoint /usr/local/bin/port-aws-exporter,serve \
	--cmd --listen,:8080 \
	--user "${UID_NONROOT}:${UID_NONROOT}" \
	--exposed-ports 8080/tcp \
	--workdir /home/nonroot \
	-e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	-l org.opencontainers.image.title=port-aws-exporter \
	-l "org.opencontainers.image.version=${VERSION}" >/dev/null
mkdir -p "$work/layout"
"$CRANE" pull --insecure --format=oci "$ref:${VERSION}" "$work/layout"
# Name the image in the layout's index as the Helm chart's default image
# (image.repository at appVersion, which release.sh sets to VERSION):
# containerd (`kind load image-archive`, `ctr images import`) and docker load
# read io.containerd.image.name, skopeo and podman org.opencontainers.image.ref.name.
digest="$("$CRANE" digest --insecure "$ref:${VERSION}")"
size="$("$CRANE" manifest --insecure "$ref:${VERSION}" | wc -c | tr -d ' ')"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":%s,"digest":"%s","annotations":{"io.containerd.image.name":"%s:%s","org.opencontainers.image.ref.name":"%s"}}]}\n' \
	"$size" "$digest" "$IMAGE_NAME" "$VERSION" "$VERSION" >"$work/layout/index.json"
out="$DIST/port-aws-exporter-image.tar"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH}" -C "$work/layout" -cf "$out" .
echo "$out ($(du -h "$out" | cut -f1)), ${IMAGE_NAME}:${VERSION}@${digest}"
