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
#      A newer Debian's package index is read into a private apt state: the host's apt
#      sources are never changed. The wrapper preloads tools/criu/rlimit_fallback.c
#      (built here), which lets CRIU read a non-root process's resource limits where root
#      lacks CAP_SYS_RESOURCE (docs/testbed.md).
#   3. Docker 28.5 (docker.io, containerd 2.1, runc 1.3) from forky in /opt/docker-28.5,
#      and Docker 26.1 (containerd 1.7, runc 1.1) from trixie in /opt/docker-26.1, for the
#      test bed's edges that run them (`testbed up --docker edge-b=28.5`); the host's own
#      dockerd stays Debian 12's 20.10.
#   4. Podman 5.8 (conmon, runc 1.3, netavark) from forky in /opt/podman-5.8, for the
#      benchmark's `podman5` system; the host's own podman stays Debian 12's 4.3.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=/var/cache/dockmig
criu_packages=$repo/tools/criu/forky-packages
criu_version=$(sed -n 's/^criu=//p' "$criu_packages")
criu_prefix=$repo/third_party/criu/prefix
criu_wrapper=$repo/third_party/criu/bin/criu
criu_fallback_src=$repo/tools/criu/rlimit_fallback.c
criu_fallback=$repo/third_party/criu/lib/rlimit_fallback.so
# The private Docker releases, RELEASE SUITE: the packages of tools/docker/SUITE-packages
# in /opt/docker-RELEASE.
private_dockers=("28.5 forky" "26.1 trixie")
podman_packages=$repo/tools/podman/forky-packages
podman_version=$(sed -n 's/^podman=//p' "$podman_packages")
podman_prefix=/opt/podman-5.8
# (rootlessport and pasta are for rootless Podman, which the bench does not run)
podman_tools=(usr/bin/podman usr/bin/conmon usr/sbin/runc usr/lib/podman/netavark usr/lib/podman/aardvark-dns)

say() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root (installs packages)"

packages=(
  build-essential cmake pkg-config git ccache   # ccache: tools/test.sh rebuilds a fresh clone from it
  libarchive-dev libzstd-dev libxxhash-dev libcurl4-openssl-dev nlohmann-json3-dev librsync-dev
  libspdlog-dev libgtest-dev libgmock-dev libcli11-dev libcpp-httplib-dev libssl-dev
  libbenchmark-dev
  docker.io docker-registry containerd runc
  etcd-server etcd-client   # the fleet's store (docs/fleet.md); the bed runs one in its cloud
  iproute2 iptables kmod procps psmisc util-linux curl zstd python3
  busybox-static debootstrap patchelf   # patchelf: the private Dockers' runc (below)
  clang libclang-rt-14-dev   # tests/fuzz: libFuzzer, with ASan and UBSan
  gnuplot-nox podman   # tools/bench: the chart, and Podman as a peer to compare with
  help2man   # the man pages, made from --help (packaging/); cpack's Depends come from dpkg-dev's dpkg-shlibdeps
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

# docker_works PREFIX VERSION: that prefix's dockerd says VERSION and its runc runs.
docker_works() {
  local prefix=$1 version=$2
  [ -x "$prefix/bin/dockerd" ] && [ -x "$prefix/bin/runc" ] &&
    "$prefix/bin/dockerd" --version 2>/dev/null | grep -q "version ${version%%+*}" &&
    "$prefix/bin/runc" --version >/dev/null 2>&1
}

podman_works() {
  local tool
  [ -x "$podman_prefix/usr/bin/podman" ] &&
    "$podman_prefix/usr/bin/podman" --version 2>/dev/null | grep -q "version ${podman_version%%+*}" || return 1
  for tool in "${podman_tools[@]}"; do "$podman_prefix/$tool" --version >/dev/null 2>&1 || return 1; done
}

# suite_sources SUITE: deb822 sources of one Debian suite; a released one (trixie) with
# its point-release updates and security fixes, as a host of that release has them.
suite_sources() {
  local suites=$1 security=""
  [ "$1" = forky ] || { suites="$1 $1-updates" security=1; }
  printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: $suites" "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  [ -z "$security" ] || printf '%s\n' "" "Types: deb" "URIs: http://deb.debian.org/debian-security" \
    "Suites: $1-security" "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
}

# suite_apt SUITE: SUITE's package index, read into a private apt state (the host's
# sources untouched); sets apt_suite to the apt-get options that use it.
suite_apt() {
  local apt_state=$cache/apt-$1
  mkdir -p "$apt_state/lists/partial" "$apt_state/archives/partial" "$apt_state/none"
  apt_suite=(
    -o "Dir::Etc::SourceList=$apt_state/empty.list" -o "Dir::Etc::SourceParts=$apt_state/none"
    -o "Dir::State::Lists=$apt_state/lists"
    -o "Dir::Cache::Archives=$apt_state/archives" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"
  )
  # deb822 sources can only come from a sourceparts directory.
  touch "$apt_state/empty.list"
  suite_sources "$1" >"$apt_state/none/$1.sources"
}

# Each suite's .debs in a directory of its own: an unversioned line takes the newest
# cached .deb of its name, which must be that suite's (trixie's libc6 is not forky's).
debs_of() { echo "$cache/debs/$1"; }

# deb_of SUITE PACKAGE: the cached .deb of NAME=VERSION, or the newest cached one of NAME.
deb_of() {
  local debs
  debs=$(debs_of "$1")
  if [[ $2 == *=* ]]; then
    local name=${2%%=*} version=${2#*=}
    ls "$debs/${name}_${version/:/%3a}"_amd64.deb 2>/dev/null
  else
    ls -t "$debs/$2"_*.deb 2>/dev/null | head -n1
  fi
}

# fetch_debs WHAT SUITE PACKAGES...: download from SUITE what the cache lacks.
fetch_debs() {
  local what=$1 suite=$2 p missing=0; shift 2
  for p in "$@"; do [ -n "$(deb_of "$suite" "$p")" ] || missing=1; done
  [ $missing -eq 1 ] || return 0
  suite_apt "$suite"
  mkdir -p "$(debs_of "$suite")"
  apt-get "${apt_suite[@]}" update -qq || die "could not read the $suite package index from deb.debian.org"
  (cd "$(debs_of "$suite")" && apt-get "${apt_suite[@]}" download -qq "$@") \
    || die "could not download $what from $suite; if a version is gone, update its line in tools/*/$suite-packages"
}

# unpack_debs SUITE PREFIX PACKAGES...: a fresh PREFIX with every package's .deb unpacked in it.
unpack_debs() {
  local suite=$1 prefix=$2 p; shift 2
  rm -rf "$prefix" && mkdir -p "$prefix"
  for p in "$@"; do dpkg -x "$(deb_of "$suite" "$p")" "$prefix"; done
}

# package_list FILE: the packages of a list, one a line, without comments.
package_list() { grep -v -e '^#' -e '^$' "$1"; }

install_criu() {
  say "installing CRIU $criu_version privately into $criu_prefix"
  local packages
  mapfile -t packages < <(package_list "$criu_packages")
  fetch_debs "criu=$criu_version and its libraries" forky "${packages[@]}"
  unpack_debs forky "$criu_prefix" "${packages[@]}"
  write_criu_wrapper
  criu_works || die "the private CRIU does not run: $("$criu_wrapper" --version 2>&1 | head -n3)"
}

# The wrapper runs CRIU with its own loader and libraries, and rlimit_fallback.so preloaded.
write_criu_wrapper() {
  mkdir -p "$(dirname "$criu_wrapper")" "$(dirname "$criu_fallback")"
  gcc -O2 -Wall -Wextra -shared -fPIC -o "$criu_fallback" "$criu_fallback_src" \
    || die "could not build $criu_fallback_src"
  printf '%s\n' '#!/bin/sh' "# CRIU $criu_version with its own glibc and libraries (made by tools/setup.sh)." \
    "lib=$criu_prefix/usr/lib/x86_64-linux-gnu" \
    "exec \"\$lib/ld-linux-x86-64.so.2\" --preload \"$criu_fallback\" --library-path \"\$lib\" \"$criu_prefix/usr/sbin/criu\" \"\$@\"" \
    >"$criu_wrapper"
  chmod 755 "$criu_wrapper"
}

criu_wrapper_current() {
  [ "$criu_fallback" -nt "$criu_fallback_src" ] && grep -qF -- "--preload \"$criu_fallback\"" "$criu_wrapper"
}

# with_prefix_glibc PREFIX FILE...: each FILE (a path in PREFIX) runs with the loader and
# libraries of a newer Debian in PREFIX: its ELF interpreter, and DT_RPATH (--force-rpath),
# which unlike DT_RUNPATH also serves the libraries' own dependencies (libgpgme's
# libassuan, glib's pcre2), so that none of them comes from the host's older ones.
with_prefix_glibc() {
  local prefix=$1 lib=$1/usr/lib/x86_64-linux-gnu file; shift
  for file in "$@"; do
    patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$lib" "$prefix/$file"
  done
}

# install_docker PREFIX SUITE VERSION PACKAGES...: a Docker release's daemons in
# PREFIX/bin, the directory the bed puts first on an edge's PATH. runc needs a newer glibc
# than the host's and re-executes itself (/proc/self/exe), so it cannot run through a
# loader wrapper like CRIU's: its ELF interpreter and rpath point into the prefix instead.
install_docker() {
  local prefix=$1 suite=$2 version=$3 tool; shift 3
  say "installing Docker $version from $suite privately into $prefix"
  fetch_debs "docker.io=$version and its daemons" "$suite" "$@"
  unpack_debs "$suite" "$prefix" "$@"
  with_prefix_glibc "$prefix" usr/sbin/runc
  mkdir -p "$prefix/bin"
  for tool in usr/sbin/dockerd usr/sbin/docker-proxy usr/sbin/runc usr/bin/containerd \
    usr/bin/containerd-shim-runc-v2 usr/bin/ctr; do
    ln -sfn "$prefix/$tool" "$prefix/bin/${tool##*/}"
  done
  ln -sfn "$prefix/usr/bin/tini-static" "$prefix/bin/docker-init"
  docker_works "$prefix" "$version" || die "the private Docker does not run: $("$prefix/bin/runc" --version 2>&1 | head -n3)"
}

# install_dockers: every private release that is not in place yet.
install_dockers() {
  local entry release suite list version packages
  for entry in "${private_dockers[@]}"; do
    read -r release suite <<<"$entry"
    list=$repo/tools/docker/$suite-packages
    version=$(sed -n 's/^docker.io=//p' "$list")
    docker_works "/opt/docker-$release" "$version" && continue
    mapfile -t packages < <(package_list "$list")
    install_docker "/opt/docker-$release" "$suite" "$version" "${packages[@]}"
  done
}

# Podman 5.8 and its helpers in $podman_prefix, as the private Dockers' runc (podman and
# runc re-execute themselves too). Its configuration is the caller's (tools/bench/lib/podman.py writes
# containers.conf and storage.conf for roots of its own), so the host's Podman 4.3 and its
# stores are untouched.
install_podman() {
  say "installing Podman $podman_version privately into $podman_prefix"
  local packages
  mapfile -t packages < <(package_list "$podman_packages")
  fetch_debs "podman=$podman_version and its helpers" forky "${packages[@]}"
  unpack_debs forky "$podman_prefix" "${packages[@]}"
  with_prefix_glibc "$podman_prefix" "${podman_tools[@]}"
  podman_works || die "the private Podman does not run: $("$podman_prefix/usr/bin/podman" --version 2>&1 | head -n3)"
}

criu_works || install_criu
if ! criu_wrapper_current; then
  say "building CRIU's rlimit fallback and its wrapper"
  write_criu_wrapper
  criu_works || die "the private CRIU does not run: $("$criu_wrapper" --version 2>&1 | head -n3)"
fi
install_dockers
podman_works || install_podman
say "ready (criu ${criu_version%%-*} at $criu_wrapper; Docker ${private_dockers[*]%% *} in /opt/docker-RELEASE/bin;" \
  "Podman ${podman_version%%+*} in $podman_prefix)"
