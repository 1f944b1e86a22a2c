# The Debian package (packaging/, docs/install.md) as an operator installs it: cpack makes
# the .deb from this build; dpkg installs it on each edge, runs its maintainer scripts and
# registers agent.conf as a conffile; the first-run steps of docs/install.md give each
# edge its certificate, a gateway's token and its addresses; each agent starts as the
# installed unit's ExecStart says, under the unit's capability bounding set and
# no-new-privileges; a gateway hands a counter off from edge-a's agent to edge-b's through
# the API, the counter carries on; SIGTERM stops both cleanly; a purge leaves nothing.
#
# Each edge's root is a scratch directory, `dpkg --root` with the maintainer scripts run
# chrootless (they honour DPKG_ROOT), not the machine's /: the edges share this machine's
# file system with the other beds and the benchmark, which an installed /usr/bin/dockmig
# and /etc/dockmig must not reach, and a failed test must not leave a package behind. So
# the unit's absolute paths (the binary, the config) and the config's /etc/dockmig paths
# are read under that root; the state dir is the bed's, where its dockerd's CRIU reads it.
# systemd does not run here: the unit is checked by `systemd-analyze verify` where it is
# installed, and its hardening is applied with setpriv as systemd would.
source "$(dirname "$0")/hook_lib.sh"
: "${DOCKMIG_BUILD_DIR:?the build dir (ctest sets it)}" "${CPACK:?cpack (ctest sets it)}"
version=$("$DOCKMIG" --version | awk '{print $2}')
deb_dir=$hook_dir/deb

step "building the package: cpack -G DEB"
(cd "$DOCKMIG_BUILD_DIR" && "$CPACK" -G DEB -B "$deb_dir" >"$hook_dir/cpack.log" 2>&1) \
  || fail "cpack failed: $(tail -n5 "$hook_dir/cpack.log")"
deb=$deb_dir/dockmig_${version}_amd64.deb
[ -f "$deb" ] || fail "cpack made no $(basename "$deb"): $(ls "$deb_dir")"
depends=$(dpkg-deb -f "$deb" Depends)
step "$(basename "$deb"), $(du -k "$deb" | cut -f1) KiB; Depends: $depends"
[[ $depends == *libc6* && $depends == *libarchive13* ]] || fail "Depends lacks the binary's libraries (dpkg-shlibdeps)"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/dockmig/agent.conf ] \
  || fail "agent.conf is not the package's conffile"
# Debian's copyright file names the license; the Maintainer is the build's
# DOCKMIG_PACKAGE_CONTACT, which says so when nobody set it.
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/dockmig/copyright 2>/dev/null | grep -qx 'License: Apache-2.0' \
  || fail "the package has no /usr/share/doc/dockmig/copyright naming Apache-2.0"
maintainer=$(dpkg-deb -f "$deb" Maintainer)
contact=$(sed -n 's/^DOCKMIG_PACKAGE_CONTACT:STRING=//p' "$DOCKMIG_BUILD_DIR/CMakeCache.txt")
[ -n "$maintainer" ] && [ "$maintainer" = "$contact" ] || fail "Maintainer is \`$maintainer\`, not DOCKMIG_PACKAGE_CONTACT's \`$contact\`"
step "Maintainer: $maintainer; copyright: Apache-2.0"
# apt's answer on this host, simulated: only dockmig itself to install.
others=$(apt-get -s install "$deb" 2>&1 | awk '/^Inst / && $2 != "dockmig" {print $2}')
[ -z "$others" ] || fail "installing the package would also install: $others"

# ---- install, and the first-run steps of docs/install.md, on each edge ------------------
root_of() { echo "$hook_dir/root-$1"; }
in_root() { local root; root=$(root_of "$1"); shift; dpkg --root="$root" --force-script-chrootless --log=/dev/null "$@"; }
install_package() {
  local host=$1 root
  root=$(root_of "$host")
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
  touch "$root/var/lib/dpkg/available"
  # The host's installed packages: dpkg checks the package's Depends against them.
  cp /var/lib/dpkg/status "$root/var/lib/dpkg/status"
  in_root "$host" -i "$deb" >"$hook_dir/dpkg-$host.log" 2>&1 || fail "dpkg -i on $host: $(tail -n5 "$hook_dir/dpkg-$host.log")"
  [ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' dockmig)" = "install ok installed" ] \
    || fail "dpkg does not say dockmig is installed on $host"
  grep -q '^ /etc/dockmig/agent.conf ' <(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}' dockmig) \
    || fail "dpkg did not register /etc/dockmig/agent.conf as a conffile on $host"
  [ "$(stat -c %a "$root/etc/dockmig/tokens")" = 600 ] && [ "$(stat -c %a "$root/etc/dockmig/tls")" = 700 ] \
    || fail "postinst's token file or TLS directory is not private on $host"
  grep -q 'ADDR:PORT to accept migrations' <(zcat "$root/usr/share/man/man1/dockmig-serve.1.gz") || fail "no man page for serve on $host"
}

# first_run HOST: docs/install.md's first-run steps, under HOST's root: its certificate
# from the fleet's CA (hook_lib made it with `dockmig certs`), the gateway's token, and
# listen, api, the bed's dockerd and CRIU set in agent.conf as an operator edits it.
first_run() {
  local host=$1 root etc addr docker_var
  root=$(root_of "$host"); etc=$root/etc/dockmig
  addr=$(addr_of "$host"); docker_var=$(var_of "$host" DOCKER)
  install -m 0644 "$certs/$host.pem" "$etc/tls/host.pem"
  install -m 0600 "$certs/$host-key.pem" "$etc/tls/host-key.pem"
  install -m 0644 "$certs/ca.pem" "$etc/tls/ca.pem"
  printf 'gateway-1 %s\n' "$gateway_token" >>"$etc/tokens"
  sed -i -e "s|^#listen = .*|listen = \"$addr:$hook_link_port\"|" -e "s|^#api = .*|api = \"$addr:$hook_api_port\"|" \
    -e "s|^#docker = .*|docker = \"${!docker_var}\"|" -e "s|^#criu = .*|criu = \"$CRIU\"|" \
    -e "s|\"/etc/dockmig/|\"$etc/|" -e "s|^state-dir = .*|state-dir = \"$hook_dir/state-$host\"|" "$etc/agent.conf"
}

for host in edge-a edge-b; do
  install_package "$host"
  first_run "$host"
done
step "installed in $(root_of edge-a) and $(root_of edge-b): $(cd "$(root_of edge-a)" && find . -path ./var/lib/dpkg -prune -o -type f -print | wc -l) files each"

# ---- the unit ---------------------------------------------------------------------------
unit=$(root_of edge-b)/usr/lib/systemd/system/dockmig-agent.service
[ -f "$unit" ] || fail "the package has no /usr/lib/systemd/system/dockmig-agent.service"
unit_value() { sed -n "s/^$1=//p" "$unit"; }
if command -v systemd-analyze >/dev/null; then
  # Its binary is under the scratch root, not at /usr/bin: the one complaint expected.
  complaints=$(systemd-analyze verify --man=no "$unit" 2>&1 | grep -v "Command /usr/bin/dockmig is not executable" || true)
  [ -z "$complaints" ] || fail "systemd-analyze verify: $complaints"
fi
read -ra exec_start <<<"$(unit_value ExecStart)"
[[ ${exec_start[0]} == /* ]] || fail "ExecStart does not start with an absolute path: ${exec_start[*]}"
step "the unit's ExecStart: ${exec_start[*]}"
# command_in HOST: ExecStart with its absolute paths under HOST's root.
command_in() {
  local root word words=()
  root=$(root_of "$1")
  for word in "${exec_start[@]}"; do
    if [[ $word == /* ]] && [ -e "$root$word" ]; then words+=("$root$word"); else words+=("$word"); fi
  done
  echo "${words[@]}"
}
# The hardening systemd would apply: its capability bounding set and no-new-privileges.
bounding=$(unit_value CapabilityBoundingSet | tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd,)
[ -n "$bounding" ] || fail "the unit sets no CapabilityBoundingSet"
unit_caps=$(tr -cd , <<<"$bounding," | wc -c)
hardening=(--bounding-set "-all,$bounding")
[ "$(unit_value NoNewPrivileges)" = yes ] && hardening+=(--no-new-privs)
umask_value=$(unit_value UMask)
step "as systemd would start it: setpriv ${hardening[*]}, umask ${umask_value:-0022}"

# start_installed HOST [ARGS...]: the unit's command line in HOST's network namespace.
start_installed() {
  local host=$1 netns_var command; shift
  netns_var=$(var_of "$host" NETNS)
  read -ra command <<<"$(command_in "$host")"
  (umask "${umask_value:-0022}" && exec nsenter --net="/run/netns/${!netns_var}" -- \
    setpriv "${hardening[@]}" -- "${command[@]}" "$@") >>"$hook_dir/agent-$host.log" 2>&1 &
  agent_pid=$!
  agent_pids+=("$agent_pid")
}

# A key of the config file that is no option stops the agent at once, naming it.
cp "$(root_of edge-b)/etc/dockmig/agent.conf" "$hook_dir/agent.conf.good"
printf 'lsten = "typo"\n' >>"$(root_of edge-b)/etc/dockmig/agent.conf"
start_installed edge-b
code=0; wait "$agent_pid" || code=$?
agent_pids=()
[ "$code" = 2 ] || fail "a bad key in agent.conf: exit $code, expected 2"
grep -q "unknown key \`serve.lsten\`" "$hook_dir/agent-edge-b.log" || fail "the error does not name the bad key: $(tail -n2 "$hook_dir/agent-edge-b.log")"
step "a bad key: exit 2, $(grep -m1 'unknown key' "$hook_dir/agent-edge-b.log")"
cp "$hook_dir/agent.conf.good" "$(root_of edge-b)/etc/dockmig/agent.conf"

for host in edge-b edge-a; do
  start_installed "$host"
  eval "pid_$(echo "$host" | tr - _)=$agent_pid"
  wait_until 20 in_ns "$host" bash -c "exec 3<>/dev/tcp/$(addr_of "$host")/$hook_api_port" \
    || fail "the installed agent on $host does not answer: $(tail -n3 "$hook_dir/agent-$host.log")"
  bounding_now=$(awk '/^CapBnd:/ {print $2}' "/proc/$agent_pid/status")
  effective=$(awk '/^CapEff:/ {print $2}' "/proc/$agent_pid/status")
  [ "$effective" = "$bounding_now" ] && [ "$(python3 -c "print(bin(0x$effective).count('1'))")" = "$unit_caps" ] &&
    [ "$(grep -c '^NoNewPrivs:.1' "/proc/$agent_pid/status")" = 1 ] \
    || fail "the agent on $host does not run with the unit's hardening (CapEff $effective, CapBnd $bounding_now)"
  api "$host" GET /v1/health
  expect_status 200 "GET /v1/health on $host's installed agent"
  [ "$(body "['version']")" = "$version" ] || fail "health says version $(body "['version']"), the package is $version"
  [ "$(body "['handoffs']['running']")" = 0 ] || fail "health with the token does not count handoffs: $(cat "$body_file")"
done
step "agents run with the unit's $unit_caps capabilities ($effective) and no-new-privs"

# ---- a handoff through the installed agents ---------------------------------------------
start_counter edge-a package-web
# Far enough that a counter restarted at edge-b could not reach it in the second it is given.
wait_until 20 count_at_least edge-a package-web 50 || fail "the counter did not reach 50 on edge-a"
before=$(count_of edge-a package-web)
handoff_via_api edge-a package-web "$EDGE_B_ADDR:$hook_link_port"
carried_on edge-a edge-b package-web "$before"

# ---- SIGTERM, as systemctl stop sends it (KillMode=mixed: to the agent alone) ----------
[ "$(unit_value KillMode)" = mixed ] || fail "KillMode is $(unit_value KillMode), expected mixed"
for host in edge-a edge-b; do
  pid_var=pid_$(echo "$host" | tr - _)
  kill -TERM "${!pid_var}"
  code=0; timeout_at=$((SECONDS + 30))
  while kill -0 "${!pid_var}" 2>/dev/null; do
    [ $SECONDS -lt $timeout_at ] || fail "the agent on $host still runs 30 s after SIGTERM"
    sleep 0.2
  done
  wait "${!pid_var}" || code=$?
  [ "$code" = 0 ] || fail "the agent on $host exited $code after SIGTERM: $(tail -n3 "$hook_dir/agent-$host.log")"
  in_ns "$host" bash -c "exec 3<>/dev/tcp/$(addr_of "$host")/$hook_api_port" 2>/dev/null \
    && fail "the API on $host still answers after SIGTERM"
done
agent_pids=()
step "SIGTERM: both agents exited 0 and closed their ports"

# ---- purge ------------------------------------------------------------------------------
for host in edge-a edge-b; do
  # The certificates are the operator's: a purge leaves them, as docs/install.md says.
  rm -f "$(root_of "$host")"/etc/dockmig/tls/*.pem
  in_root "$host" --purge dockmig >>"$hook_dir/dpkg-$host.log" 2>&1 || fail "dpkg --purge on $host failed"
  left=$(cd "$(root_of "$host")" && find . -path ./var/lib/dpkg -prune -o ! -type d -print)
  [ -z "$left" ] || fail "the purge on $host left: $left"
  [ ! -e "$(root_of "$host")/etc/dockmig" ] || fail "the purge on $host left /etc/dockmig"
done
pass "the package installed, its unit's command line served the API and a handoff (count $before -> $after), stopped on SIGTERM, purged clean"
