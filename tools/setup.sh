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
#   3. Docker 28.5 (docker.io, containerd 2.1, runc 1.3) from forky in /opt/docker-28.5,
#      for the test bed's edges that run it (`testbed up --docker edge-b=28.5`); the
#      host's own dockerd stays Debian 12's 20.10.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=/var/cache/dockmig
criu_packages=$repo/tools/criu/forky-packages
criu_version=$(sed -n 's/^criu=//p' "$criu_packages")
criu_prefix=$repo/third_party/criu/prefix
criu_wrapper=$repo/third_party/criu/bin/criu
docker_packages=$repo/tools/docker/forky-packages
docker_version=$(sed -n 's/^docker.io=//p' "$docker_packages")
docker_prefix=/opt/docker-28.5
apt_state=$cache/apt-forky
debs=$cache/debs

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
  busybox-static debootstrap patchelf   # patchelf: Docker 28.5's runc (below)
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

docker_works() {
  [ -x "$docker_prefix/bin/dockerd" ] && [ -x "$docker_prefix/bin/runc" ] &&
    "$docker_prefix/bin/dockerd" --version 2>/dev/null | grep -q "version ${docker_version%%+*}" &&
    "$docker_prefix/bin/runc" --version >/dev/null 2>&1
}

# The forky package index, read into a private apt state (the host's sources untouched).
forky_apt_setup() {
  mkdir -p "$apt_state/lists/partial" "$apt_state/archives/partial" "$debs" "$apt_state/none"
  printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: forky" "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >"$apt_state/forky.sources"
  apt_forky=(
    -o "Dir::Etc::SourceList=$apt_state/empty.list" -o "Dir::Etc::SourceParts=$apt_state/none"
    -o "Dir::State::Lists=$apt_state/lists"
    -o "Dir::Cache::Archives=$apt_state/archives" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Default-Release=forky" -o "APT::Sandbox::User=root"
  )
  # deb822 sources can only come from a sourceparts directory.
  touch "$apt_state/empty.list"
  cp "$apt_state/forky.sources" "$apt_state/none/forky.sources"
}

# deb_of PACKAGE: the cached .deb of NAME=VERSION, or the newest cached one of NAME.
deb_of() {
  if [[ $1 == *=* ]]; then
    local name=${1%%=*} version=${1#*=}
    ls "$debs/${name}_${version/:/%3a}"_amd64.deb 2>/dev/null
  else
    ls -t "$debs/$1"_*.deb 2>/dev/null | head -n1
  fi
}

# fetch_debs WHAT PACKAGES...: download from forky what the cache lacks.
fetch_debs() {
  local what=$1 p missing=0; shift
  for p in "$@"; do [ -n "$(deb_of "$p")" ] || missing=1; done
  [ $missing -eq 1 ] || return 0
  forky_apt_setup
  apt-get "${apt_forky[@]}" update -qq || die "could not read the forky package index from deb.debian.org"
  (cd "$debs" && apt-get "${apt_forky[@]}" download -qq "$@") \
    || die "could not download $what from forky; if a version is gone, update its line in tools/*/forky-packages"
}

# unpack_debs PREFIX PACKAGES...: a fresh PREFIX with every package's .deb unpacked in it.
unpack_debs() {
  local prefix=$1 p; shift
  rm -rf "$prefix" && mkdir -p "$prefix"
  for p in "$@"; do dpkg -x "$(deb_of "$p")" "$prefix"; done
}

install_criu() {
  say "installing CRIU $criu_version privately into $criu_prefix"
  local packages
  mapfile -t packages < <(grep -v -e '^#' -e '^$' "$criu_packages")
  fetch_debs "criu=$criu_version and its libraries" "${packages[@]}"
  unpack_debs "$criu_prefix" "${packages[@]}"
  mkdir -p "$(dirname "$criu_wrapper")"
  printf '%s\n' '#!/bin/sh' "# CRIU $criu_version with its own glibc and libraries (made by tools/setup.sh)." \
    "lib=$criu_prefix/usr/lib/x86_64-linux-gnu" \
    "exec \"\$lib/ld-linux-x86-64.so.2\" --library-path \"\$lib\" \"$criu_prefix/usr/sbin/criu\" \"\$@\"" \
    >"$criu_wrapper"
  chmod 755 "$criu_wrapper"
  criu_works || die "the private CRIU does not run: $("$criu_wrapper" --version 2>&1 | head -n3)"
}

# Docker 28.5's daemons in $docker_prefix/bin, the directory the bed puts first on an
# edge's PATH. runc re-executes itself (/proc/self/exe), so it cannot run through a loader
# wrapper like CRIU's: its ELF interpreter and rpath point into the prefix instead.
install_docker() {
  say "installing Docker $docker_version privately into $docker_prefix"
  local packages tool lib=$docker_prefix/usr/lib/x86_64-linux-gnu
  mapfile -t packages < <(grep -v -e '^#' -e '^$' "$docker_packages")
  fetch_debs "docker.io=$docker_version and its daemons" "${packages[@]}"
  unpack_debs "$docker_prefix" "${packages[@]}"
  patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" "$docker_prefix/usr/sbin/runc"
  mkdir -p "$docker_prefix/bin"
  for tool in usr/sbin/dockerd usr/sbin/docker-proxy usr/sbin/runc usr/bin/containerd \
    usr/bin/containerd-shim-runc-v2 usr/bin/ctr; do
    ln -sfn "$docker_prefix/$tool" "$docker_prefix/bin/${tool##*/}"
  done
  ln -sfn "$docker_prefix/usr/bin/tini-static" "$docker_prefix/bin/docker-init"
  docker_works || die "the private Docker does not run: $("$docker_prefix/bin/runc" --version 2>&1 | head -n3)"
}

criu_works || install_criu
docker_works || install_docker
say "ready (criu ${criu_version%%-*} at $criu_wrapper, docker ${docker_version%%+*} in $docker_prefix/bin)"
