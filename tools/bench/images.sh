#!/usr/bin/env bash
# The benchmark's workload images: the bed's Debian minbase base layer (dockmig/base:1)
# plus one application layer made from Debian packages, so that an image really is
# "base layers + an application layer" as in the papers.
#
#   tools/bench/images.sh layer NAME                 make (or reuse) NAME's application layer
#   tools/bench/images.sh image NAME DOCKER REGISTRY build NAME on the daemon at DOCKER
#                                                    (unix://...) and push it to REGISTRY
#   tools/bench/images.sh media                      the video workload's media file
#   tools/bench/images.sh tag NAME                   the image's tag (a hash of what it is made from)
#
# An application layer is made in the root namespace (the bed's namespaces cannot reach
# the package mirror): an overlay mount whose lower dir is the extracted minbase root and
# whose upper dir starts empty; apt-get installs the packages inside it (chroot); the
# upper dir, less overlay whiteouts, is then the layer, tarred. `docker build` adds it
# FROM dockmig/base:1. Layers and build contexts are cached in $DOCKMIG_BENCH_CACHE
# (default /var/cache/dockmig/bench), outside the repository, and remade only when the
# package list or the bench's app files change.
#
# Workloads: game (python3 + a UDP state server), ram (redis-server; also the store of
# tests/integration/migrate_network_pair.sh), video (nginx-light
# and a 96 MiB media file), face (python3-opencv, opencv-data's Haar cascades + a UDP
# service), postgres (postgresql-15, its data directory on a volume; also
# tests/integration/migrate_postgres.sh). idle uses the bed's busybox image and needs no build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${DOCKMIG_BENCH_CACHE:-/var/cache/dockmig/bench}
docker_cli=/usr/bin/docker

say() { echo "bench images: $*" >&2; }
die() { echo "bench images: error: $*" >&2; exit 1; }

packages_of() {
  case $1 in
    game) echo "python3" ;;
    ram) echo "redis-server" ;;
    video) echo "nginx-light" ;;
    face) echo "python3-opencv opencv-data" ;;
    postgres) echo "postgresql-15" ;;
    *) die "unknown workload \`$1\` (game, ram, video, face, postgres)" ;;
  esac
}

# The Dockerfile's CMD and ports of each image.
dockerfile_of() {
  echo "FROM dockmig/base:1"
  echo "ADD app-layer.tar /"
  case $1 in
    game) echo 'EXPOSE 7777/udp'; echo 'CMD ["python3", "/opt/bench/game_server.py"]' ;;
    ram) echo 'EXPOSE 6379'
         echo 'CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]' ;;
    video) echo 'EXPOSE 80'; echo 'CMD ["nginx", "-c", "/opt/bench/nginx.conf"]' ;;
    face) echo 'EXPOSE 9000/udp'; echo 'CMD ["python3", "/opt/bench/face_server.py"]' ;;
    postgres) echo 'EXPOSE 5432'; echo 'STOPSIGNAL SIGINT'; echo 'CMD ["/opt/bench/postgres_start.sh"]' ;;
  esac
}

# Files of the bench that go into the application layer.
add_app_files() {
  local name=$1 root=$2
  mkdir -p "$root/opt/bench"
  case $name in
    game) install -m 755 "$here/apps/game_server.py" "$root/opt/bench/" ;;
    video)
      install -m 644 "$here/apps/nginx.conf" "$root/opt/bench/"
      mkdir -p "$root/srv/media"
      # A stand-in for an encoded video: incompressible, like one.
      head -c $((96 << 20)) /dev/urandom >"$root/srv/media/video.mp4" ;;
    face) install -m 755 "$here/apps/face_server.py" "$root/opt/bench/" ;;
    postgres) install -m 755 "$here/apps/postgres_start.sh" "$root/opt/bench/" ;;
  esac
}

# What an image does not need of what apt installed (docs, and for face the GL drivers,
# LLVM, Intel media plugins and map projection data that OpenCV's dependencies bring but
# the service never loads): removed like a "slim" image does.
prune_of() {
  echo usr/share/doc usr/share/man usr/share/info
  case $1 in
    face) echo usr/lib/x86_64-linux-gnu/dri usr/lib/x86_64-linux-gnu/libLLVM-15.so.1 \
               usr/lib/x86_64-linux-gnu/libz3.so.4 usr/lib/x86_64-linux-gnu/mfx \
               usr/lib/x86_64-linux-gnu/libmfxhw64.so.1.35 usr/share/proj usr/share/gdcm-3.0 \
               usr/lib/python3/dist-packages/numpy/core/tests usr/lib/python3/dist-packages/numpy/*/tests ;;
    # the JIT (jit = off) and its LLVM, and the cluster the package made (the service
    # makes its own on its volume)
    postgres) echo usr/lib/x86_64-linux-gnu/libLLVM-14.so.1 usr/lib/x86_64-linux-gnu/libz3.so.4 \
                   usr/lib/postgresql/15/lib/llvmjit.so \
                   usr/lib/postgresql/15/lib/bitcode var/lib/postgresql/15 etc/postgresql/15 \
                   'var/log/postgresql/*' ;;
  esac
}

# A check, run in the build root, that the service can still start.
check_of() {
  case $1 in
    game) echo "python3 -c 'import socket, threading'" ;;
    ram) echo "redis-server --version" ;;
    video) echo "nginx -t -c /opt/bench/nginx.conf" ;;
    face) echo "python3 -c 'import cv2; c = cv2.CascadeClassifier(\"/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml\"); assert not c.empty()'" ;;
    postgres) echo "/usr/lib/postgresql/15/bin/postgres --version && id postgres" ;;
  esac
}

# What the layer is made from; a change remakes it.
recipe_of() {
  local name=$1
  { packages_of "$name"; dockerfile_of "$name"; prune_of "$name"; check_of "$name"
    case $name in
      game) cat "$here/apps/game_server.py" ;;
      video) cat "$here/apps/nginx.conf"; echo media-96MiB ;;
      face) cat "$here/apps/face_server.py" ;;
      postgres) cat "$here/apps/postgres_start.sh" ;;
    esac
    echo "layer-recipe 2"; } | sha256sum | cut -c1-16
}

minbase_root() {
  local root=$cache/minbase-root
  if [ ! -f "$root/.complete" ]; then
    local base_tar
    base_tar=$("$here/../testbed/testbed" base) \
      || die "could not make the Debian minbase base layer (tools/testbed/testbed base)"
    say "extracting the minbase root file system (once)"
    rm -rf "$root" && mkdir -p "$root"
    tar -C "$root" --numeric-owner -xpf "$base_tar"
    touch "$root/.complete"
  fi
  echo "$root"
}

cmd_layer() {
  local name=$1 ctx=$cache/$1 recipe
  packages_of "$name" >/dev/null
  recipe=$(recipe_of "$name")
  if [ -s "$ctx/app-layer.tar" ] && [ "$(cat "$ctx/recipe" 2>/dev/null)" = "$recipe" ]; then
    echo "$ctx"; return
  fi
  [ "$(id -u)" -eq 0 ] || die "making a layer needs root (overlay mount, chroot)"
  local lower tmp
  lower=$(minbase_root)
  tmp=$cache/build-$name
  say "making the $name application layer: apt-get install $(packages_of "$name") (once; cached in $ctx)"
  umount_build "$tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"/{upper,work,merged}
  trap "umount_build '$tmp'" EXIT
  mount -t overlay overlay -o "lowerdir=$lower,upperdir=$tmp/upper,workdir=$tmp/work" "$tmp/merged"
  mount --bind /proc "$tmp/merged/proc"
  mount --bind /dev "$tmp/merged/dev"
  mount --bind /etc/resolv.conf "$tmp/merged/etc/resolv.conf"
  local m=$tmp/merged
  printf '#!/bin/sh\nexit 101\n' >"$m/usr/sbin/policy-rc.d"; chmod 755 "$m/usr/sbin/policy-rc.d"
  local apt=(-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false -qq)
  chroot "$m" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get "${apt[@]}" update >"$tmp/apt.log" 2>&1 \
    || die "apt-get update in the build root failed; see $tmp/apt.log"
  # shellcheck disable=SC2046
  chroot "$m" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get "${apt[@]}" install -y \
    --no-install-recommends $(packages_of "$name") >>"$tmp/apt.log" 2>&1 \
    || die "apt-get install $(packages_of "$name") in the build root failed; see $tmp/apt.log"
  chroot "$m" apt-get clean
  rm -f "$m/usr/sbin/policy-rc.d"
  rm -rf "$m"/var/lib/apt/lists/* "$m"/var/cache/apt/*.bin "$m"/var/cache/debconf/*-old
  (cd "$m" && eval "rm -rf $(prune_of "$name" | tr "\n" " ")")
  add_app_files "$name" "$m"
  chroot "$m" sh -c "$(check_of "$name")" >>"$tmp/apt.log" 2>&1 \
    || die "the $name service does not start in its build root ($(check_of "$name")); see $tmp/apt.log"
  umount_build "$tmp"
  trap - EXIT
  # The upper dir is the layer. Overlay whiteouts (character devices) mark files that apt
  # removed from the base; `ADD` cannot carry them, so they are left out (those files stay).
  mkdir -p "$ctx"
  rm -f "$ctx/video.mp4"
  (cd "$tmp/upper" && find . -mindepth 1 ! -type c -print0 \
     | tar --null --no-recursion --numeric-owner -T - -cf "$ctx/app-layer.tar.tmp")
  mv "$ctx/app-layer.tar.tmp" "$ctx/app-layer.tar"
  dockerfile_of "$name" >"$ctx/Dockerfile"
  echo "$recipe" >"$ctx/recipe"
  rm -rf "$tmp"
  say "$name layer: $(du -m "$ctx/app-layer.tar" | cut -f1) MB"
  echo "$ctx"
}

umount_build() {
  local tmp=$1
  for sub in etc/resolv.conf dev proc; do
    mountpoint -q "$tmp/merged/$sub" 2>/dev/null && umount -l "$tmp/merged/$sub"
  done
  if mountpoint -q "$tmp/merged" 2>/dev/null; then umount -l "$tmp/merged"; fi
  return 0
}

cmd_image() {
  local name=$1 docker=$2 registry=$3 ctx
  ctx=$(cmd_layer "$name")
  local ref=$registry/dockmig/bench-$name:$(recipe_of "$name")
  say "building $ref"
  DOCKER_BUILDKIT=0 "$docker_cli" -H "$docker" build -q -t "$ref" "$ctx" >/dev/null \
    || die "docker build of $ref failed"
  "$docker_cli" -H "$docker" push "$ref" >/dev/null || die "pushing $ref failed"
  echo "$ref"
}

# The video workload's media file, for its client to check every byte it is served.
cmd_media() {
  local ctx
  ctx=$(cmd_layer video)
  [ -s "$ctx/video.mp4" ] || tar -C "$ctx" -xf "$ctx/app-layer.tar" --transform 's|.*/||' ./srv/media/video.mp4
  echo "$ctx/video.mp4"
}

case ${1:-} in
  tag) packages_of "${2:?tag NAME}" >/dev/null; recipe_of "$2" ;;
  media) cmd_media ;;
  layer) cmd_layer "${2:?layer NAME}" ;;
  image) cmd_image "${2:?image NAME DOCKER REGISTRY}" "${3:?DOCKER}" "${4:?REGISTRY}" ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
