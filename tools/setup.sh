#!/usr/bin/env bash
# Installs everything dockmig's build, tests, test bed and benchmark need on a Debian 12
# host, idempotently: a second run finds everything in place and does nothing.
#
#   1. Debian (bookworm) packages: compilers, libraries, docker.io, the registry, etcd
#      (the fleet's store, docs/fleet.md), tools.
#   2. CRIU 4.2 in a private prefix (third_party/criu), with a `criu` wrapper that
#      dockerd, containerd and runc find first on PATH. Bookworm's CRIU 3.17 and trixie's
#      4.1 fail on this kernel (docs/testbed.md), and 4.2 needs glibc 2.38, so it runs
#      with its own loader and libraries instead of a partial distribution upgrade.
#      The forky package index is read into a private apt state: the host's apt
#      sources are never changed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=/var/cache/dockmig
criu_packages=$repo/tools/criu/forky-packages
criu_version=$(sed -n 's/^criu=//p' "$criu_packages")
criu_prefix=$repo/third_party/criu/prefix
criu_wrapper=$repo/third_party/criu/bin/criu

say() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (installs packages)"

packages=(
  build-essential cmake pkg-config git
  libarchive-dev libzstd-dev libxxhash-dev libcurl4-openssl-dev nlohmann-json3-dev librsync-dev
  libspdlog-dev libgtest-dev libgmock-dev libcli11-dev libcpp-httplib-dev libssl-dev
  libbenchmark-dev
  docker.io docker-registry containerd runc
  etcd-server etcd-client   # the fleet's store (docs/fleet.md); the bed runs one in its cloud
  iproute2 iptables kmod procps psmisc util-linux curl zstd python3
  busybox-static debootstrap
  clang libclang-rt-14-dev   # tests/fuzz: libFuzzer, with ASan and UBSan
  gnuplot-nox podman   # tools/bench: the chart, and Podman as a peer to compare with
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  # Third-party sources on some hosts are unreachable; apt ignores those with a warning.
  apt-get update -qq || say "apt-get update reported errors; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed"
  # The Debian registry and etcd packages start their services where systemd runs; the bed
  # runs its own.
  systemctl disable --now docker-registry docker containerd etcd >/dev/null 2>&1 || true
fi

criu_works() {
  [ -x "$criu_wrapper" ] && "$criu_wrapper" --version 2>/dev/null | grep -q "Version: ${criu_version%%-*}"
}

if criu_works; then
  say "ready (criu ${criu_version%%-*} at $criu_wrapper)"
  exit 0
fi

say "installing CRIU $criu_version privately into $criu_prefix"
apt_state=$cache/apt-forky
debs=$cache/debs
mkdir -p "$apt_state/lists/partial" "$apt_state/archives/partial" "$debs"
cat >"$apt_state/forky.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: forky
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_forky=(
  -o "Dir::Etc::SourceList=$apt_state/empty.list" -o "Dir::Etc::SourceParts=$apt_state/none"
  -o "Dir::State::Lists=$apt_state/lists"
  -o "Dir::Cache::Archives=$apt_state/archives" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "APT::Default-Release=forky" -o "APT::Sandbox::User=root"
)
# deb822 sources can only come from a sourceparts directory.
touch "$apt_state/empty.list"
mkdir -p "$apt_state/none" && cp "$apt_state/forky.sources" "$apt_state/none/forky.sources"

mapfile -t criu_libs < <(grep -v -e '^#' -e '^criu=' -e '^$' "$criu_packages")

have_all_debs() {
  ls "$debs"/criu_"${criu_version/:/%3a}"_amd64.deb >/dev/null 2>&1 || return 1
  for p in "${criu_libs[@]}"; do ls "$debs/${p}"_*.deb >/dev/null 2>&1 || return 1; done
}

if ! have_all_debs; then
  apt-get "${apt_forky[@]}" update -qq || die "could not read the forky package index from deb.debian.org"
  (cd "$debs" && apt-get "${apt_forky[@]}" download -qq "criu=$criu_version" "${criu_libs[@]}") \
    || die "could not download criu=$criu_version and its libraries from forky; if the version is gone, update the criu= line of tools/criu/forky-packages"
fi

rm -rf "$criu_prefix" && mkdir -p "$criu_prefix" "$(dirname "$criu_wrapper")"
for deb in "$debs"/criu_"${criu_version/:/%3a}"_amd64.deb; do dpkg -x "$deb" "$criu_prefix"; done
for p in "${criu_libs[@]}"; do
  deb=$(ls -t "$debs/${p}"_*.deb | head -n1)
  dpkg -x "$deb" "$criu_prefix"
done

cat >"$criu_wrapper" <<EOF
#!/bin/sh
# CRIU $criu_version with its own glibc and libraries (made by tools/setup.sh).
lib=$criu_prefix/usr/lib/x86_64-linux-gnu
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" "$criu_prefix/usr/sbin/criu" "\$@"
EOF
chmod 755 "$criu_wrapper"

criu_works || die "the private CRIU does not run: $("$criu_wrapper" --version 2>&1 | head -n3)"
say "ready (criu ${criu_version%%-*} at $criu_wrapper)"
