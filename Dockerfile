# The dockmig agent as a container image: dockmig, CRIU 4.2, containerd's ctr and only
# their runtime libraries on Debian bookworm. docs/container.md says how to build it and how to run the
# agent from it on an edge host (three capabilities, the host's PID and network
# namespaces, and the paths it shares with dockerd, runc and CRIU mounted at their own
# paths).
#
#   docker build -t dockmig:latest .
#
# Everything comes from Debian's archive. Where Docker Hub is out of reach,
# tools/container/build-image makes debian:bookworm-slim from debootstrap first.

# ---- build: dockmig from source, and the list of packages its binary needs -------------
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ make cmake pkg-config \
      libarchive-dev libzstd-dev libxxhash-dev libcurl4-openssl-dev nlohmann-json3-dev librsync-dev \
      libspdlog-dev libcli11-dev libcpp-httplib-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY tests/fuzz/fuzz.cmake tests/fuzz/
COPY include include
COPY src src
COPY packaging packaging
ARG JOBS=2
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DDOCKMIG_BUILD_TESTS=OFF \
 && cmake --build /build -j"$JOBS" \
 && install -D -s /build/dockmig /out/usr/local/bin/dockmig
# The packages that own the shared libraries the binary loads: the runtime stage installs
# exactly these.
RUN ldd /out/usr/local/bin/dockmig | awk '$2 == "=>" && $3 ~ /^\// {print $3}' \
    | while read -r lib; do dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null || dpkg -S "${lib#/usr}"; done \
    | cut -d: -f1 | sort -u >/out/runtime-packages \
 && test -s /out/runtime-packages

# ---- criu: CRIU 4.2 from forky in a private prefix, as tools/setup.sh does on a host ------
# It needs forky's glibc, so it runs with its own loader and libraries (the wrapper below)
# instead of a partial upgrade of the image's bookworm.
FROM debian:bookworm-slim AS criu
# false where the machine's clock runs past the Valid-Until of the mirror's forky Release
# file (tools/container/build-image says so on the bed's machines).
ARG APT_CHECK_VALID_UNTIL=true
COPY tools/criu/forky-packages /tmp/
RUN printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: forky\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      >/etc/apt/sources.list.d/forky.sources \
 && apt-get -o Acquire::Check-Valid-Until="$APT_CHECK_VALID_UNTIL" update \
 && mkdir -p /tmp/debs && cd /tmp/debs \
 && apt-get download $(grep -v -e '^#' -e '^$' /tmp/forky-packages) \
 && for deb in /tmp/debs/*.deb; do dpkg -x "$deb" /opt/criu; done \
 && rm -rf /opt/criu/usr/share/doc /opt/criu/usr/share/man /opt/criu/usr/share/locale \
      /opt/criu/usr/share/lintian /opt/criu/usr/share/info
RUN printf '#!/bin/sh\n# CRIU 4.2 with its own glibc and libraries (the Dockerfile'"'"'s criu stage).\nlib=/opt/criu/usr/lib/x86_64-linux-gnu\nexec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" /opt/criu/usr/sbin/criu "$@"\n' \
      >/opt/criu/criu && chmod 755 /opt/criu/criu \
 && /opt/criu/criu --version

# ---- ctr: containerd's client, from forky's containerd (2.1, the one Docker 28 runs) -------
# On a host whose dockerd keeps containers in containerd's image store, dockmig finds a
# container's writable layer through `ctr` (docs/design.md). Only ctr is kept, not
# containerd: it links only libc (glibc 2.34), which bookworm's 2.36 provides, so it needs
# no wrapper. It reuses the criu stage's forky index.
FROM criu AS ctr
RUN cd /tmp && apt-get download containerd \
 && dpkg -x containerd_*.deb /tmp/containerd \
 && install -D /tmp/containerd/usr/bin/ctr /out/usr/local/bin/ctr \
 && /out/usr/local/bin/ctr --version

# ---- runtime: the agent -------------------------------------------------------------------
# iptables: the rules that hold clients' packets during a restore (docs/design.md,
# "Clients that arrive during the restore").
FROM debian:bookworm-slim
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(cat /tmp/runtime-packages) iptables \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log /tmp/runtime-packages
COPY --from=criu /opt/criu /opt/criu
RUN ln -s /opt/criu/criu /usr/local/sbin/criu
COPY --from=ctr /out/usr/local/bin/ctr /usr/local/bin/ctr
COPY --from=build /out/usr/local/bin/dockmig /usr/local/bin/dockmig
RUN dockmig --version && criu --version && ctr --version
# No VOLUME for the state dir: it must be a bind mount at the host's own path (the restore
# links page images there for the host's CRIU), so Docker should not make one elsewhere.
ENTRYPOINT ["dockmig"]
CMD ["serve", "--help"]
