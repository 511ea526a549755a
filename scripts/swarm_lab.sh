#!/usr/bin/env bash
# A three-node Docker Swarm on this one machine, for the hub and agents of issue 15 (needs root):
#
#   scripts/swarm_lab.sh up              # build the lab, or finish building it (idempotent)
#   scripts/swarm_lab.sh status          # each engine, `docker node ls`, a 3-replica smoke test
#   scripts/swarm_lab.sh down            # remove everything, even after a half-failed `up`
#   scripts/swarm_lab.sh exec N CMD...   # run CMD in node N's namespace (DOCKER_HOST set)
#
# Node N (1..3) is its own dockerd (and the containerd it manages) inside the network namespace
# dp-swarm-N at 10.77.0.N/24, hostname dp-swarm-N, socket unix:///run/dp-swarm-N.sock, data in
# /var/lib/dp-swarm-N, log in /var/log/dp-swarm-N.log (kept by `down`, for post-mortems). Every
# node's veth is on the bridge dp-swarm-br, whose root-namespace end is 10.77.0.254: the hub
# listens there and the agents in the namespaces dial it. Nothing leaves the machine (net_up).
# Node 1 is the only manager; 2 and 3 join as workers (see swarm_up for why).
#
# Networking, as measured on 20.10 with --iptables=false --bridge=none: a service without
# --network runs (its containers have only lo; `--network none` is refused for services); overlay
# networks work across the nodes (VXLAN over the bridge, no iptables needed) with
# `--endpoint-mode dnsrr`, and `--publish mode=host` works for tasks on an overlay. The default
# VIP endpoint mode and the ingress routing mesh (`-p 8080:80`) need IPVS, which this kernel lacks
# (CONFIG_IP_VS unset): such tasks run but the VIP and the published port do not answer.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB=dp-swarm
BR=dp-swarm-br
NET=10.77.0
HUB_IP=$NET.254
NODES="1 2 3"
SELF="$(realpath "${BASH_SOURCE[0]}")"
# What the root namespace would route from the bridge to anywhere else (see net_up).
LEAK=(-i "$BR" ! -o "$BR" -j REJECT --reject-with icmp-net-unreachable)

sock() { echo "unix:///run/$LAB-$1.sock"; }
dk() { local n=$1; shift; docker -H "$(sock "$n")" "$@"; }
in_ns() { local n=$1; shift; ip netns exec "$LAB-$n" "$@"; }
has_ns() { [ -e "/run/netns/$LAB-$1" ]; }

# Runs inside `ip netns exec`, which gave us a private mount namespace with /sys replaced by the
# namespace's own sysfs: that sysfs has no cgroup hierarchies, and dockerd (and a DockerPulse
# agent reading cgroup files) needs them. Mount the same hierarchies as the root namespace (pid 1)
# has; mounting a cgroup hierarchy again only shows the existing one, it creates nothing.
inside_ns() {
  local dev mp type opts rest
  while read -r dev mp type opts rest; do
    case "$mp" in /sys/fs/cgroup | /sys/fs/cgroup/*) ;; *) continue ;; esac
    mkdir -p "$mp"
    mount -t "$type" -o "$opts" "$dev" "$mp"
  done </proc/1/mounts
  # cgroup v1 sets like "cpu,cpuacct" often have "cpu" and "cpuacct" links beside them.
  for l in /proc/1/root/sys/fs/cgroup/*; do
    [ -L "$l" ] && ln -sfn "$(readlink "$l")" "/sys/fs/cgroup/$(basename "$l")"
  done
  [ -z "${LAB_HOSTNAME:-}" ] || hostname "$LAB_HOSTNAME" # only with `unshare --uts`, see engine_up
  exec "$@"
}

net_up() {
  ip link show "$BR" >/dev/null 2>&1 || ip link add "$BR" type bridge
  ip addr replace "$HUB_IP/24" dev "$BR"
  ip link set "$BR" up
  # The nodes' default route (via the bridge) reaches the root namespace's own addresses, but
  # nothing may leave the machine: without this rule the root would route 10.77.0.N packets
  # (DNS lookups, registry pulls) out of eth0. Reject, not drop, so callers fail at once.
  iptables -C FORWARD "${LEAK[@]}" 2>/dev/null || iptables -I FORWARD "${LEAK[@]}"
  # The root namespace's FORWARD chain sees bridged packets (br_netfilter): a DROP policy there
  # (set by an engine running with iptables on) would cut the nodes off from each other.
  [ "$(iptables -S FORWARD 2>/dev/null | head -1)" != "-P FORWARD DROP" ] ||
    warn "iptables FORWARD policy is DROP: node-to-node traffic on $BR may be dropped"
  local n
  for n in $NODES; do
    has_ns "$n" || ip netns add "$LAB-$n"
    # `ip netns exec` mounts /etc/netns/NAME/* over /etc. A DNS server on the nodes' loopback
    # refuses at once; the machine's (10.255.255.53 here) is outside, so lookups (the manager
    # resolves an image's digest on `service create`) waited for a ~20 s timeout: rejected
    # packets get ICMP replies only at a limited rate, loopback's are not limited.
    mkdir -p "/etc/netns/$LAB-$n"
    echo "nameserver 127.0.0.1 # $LAB lab: no DNS inside the lab" >"/etc/netns/$LAB-$n/resolv.conf"
    # Deleting either end of a veth deletes both, so the host end tells whether the pair exists.
    ip link show "$LAB-$n-h" >/dev/null 2>&1 ||
      ip link add "$LAB-$n-h" type veth peer name eth0 netns "$LAB-$n"
    ip link set "$LAB-$n-h" master "$BR" up
    in_ns "$n" ip link set lo up
    in_ns "$n" ip link set eth0 up
    in_ns "$n" ip addr replace "$NET.$n/24" dev eth0
    in_ns "$n" ip route replace default via "$HUB_IP"
  done
}

engine_up() {
  local n=$1
  dk "$n" info >/dev/null 2>&1 && return 0
  mkdir -p "/var/lib/$LAB-$n" "/run/$LAB-$n"
  # Own config file, so /etc/docker/daemon.json (the default engine's) is never read; own key
  # file (a daemon.json key in 20.10, not a flag), else every engine has the default engine's ID:
  # `docker info`'s ID comes from /etc/docker/key.json.
  echo "{\"deprecated-key-path\": \"/var/lib/$LAB-$n/key.json\"}" >"/var/lib/$LAB-$n/daemon.json"
  say "starting engine $n (log /var/log/$LAB-$n.log)"
  # --iptables=false --bridge=none as the default engine: swarm does not need either (a service
  # without networks gets no overlay; overlays themselves need no iptables). dockerd starts its
  # own containerd under the exec-root (socket /run/dp-swarm-N/containerd/containerd.sock), so
  # nothing is shared with the default engine's. `unshare --uts` gives the node its own hostname,
  # which is the swarm node's name. --cgroup-parent keeps the node's containers out of the default
  # engine's /docker cgroups, so `down` can remove what a killed engine left behind (absolute: a
  # relative parent nests under dockerd's own cgroup, e.g. a login session's memory cgroup).
  # A worker tries to pull a task's image even when it has it (a tag may have moved); without a
  # registry each task start waited for that to fail, and DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
  # (read by 20.10's swarm executor) uses the local image without trying.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 LAB_HOSTNAME="$LAB-$n" nohup ip netns exec "$LAB-$n" unshare --uts "$SELF" _inside \
    dockerd --data-root "/var/lib/$LAB-$n" --exec-root "/run/$LAB-$n" \
    --pidfile "/run/$LAB-$n.pid" -H "$(sock "$n")" --config-file "/var/lib/$LAB-$n/daemon.json" \
    --cgroup-parent "/$LAB-$n" --iptables=false --bridge=none >>"/var/log/$LAB-$n.log" 2>&1 &
}

wait_engine() {
  local n=$1
  for _ in $(seq 1 60); do dk "$n" info >/dev/null 2>&1 && return 0; sleep 0.5; done
  tail -n 20 "/var/log/$LAB-$n.log" >&2 || true
  die "engine $n did not answer on $(sock "$n")"
}

# Node 1 manages alone; 2 and 3 are workers. Three managers would keep the cluster alive when one
# engine goes down, but on one machine they all share its fate anyway, and with workers a drill
# that stops or kills engine 2 or 3 can never cost the raft quorum (two of three managers down
# freezes every `docker service` command).
swarm_up() {
  local state token n id
  state="$(dk 1 info -f '{{.Swarm.LocalNodeState}}')"
  if [ "$state" != active ]; then
    [ "$state" = inactive ] || dk 1 swarm leave --force >/dev/null
    say "swarm init on node 1"
    dk 1 swarm init --advertise-addr "$NET.1" --listen-addr "$NET.1:2377" >/dev/null
  fi
  token="$(dk 1 swarm join-token -q worker)"
  for n in 2 3; do
    state="$(dk "$n" info -f '{{.Swarm.LocalNodeState}}')"
    id="$(dk "$n" info -f '{{.Swarm.NodeID}}')"
    # Active, but in this manager's swarm? (Not after node 1's data was wiped and re-initialised.)
    if [ "$state" = active ] && dk 1 node inspect "$id" >/dev/null 2>&1; then continue; fi
    [ "$state" = inactive ] || dk "$n" swarm leave --force >/dev/null
    say "node $n joins as a worker"
    dk "$n" swarm join --token "$token" --advertise-addr "$NET.$n" \
      --listen-addr "$NET.$n:2377" "$NET.1:2377" >/dev/null
  done
  for _ in $(seq 1 60); do
    [ "$(dk 1 node ls -q --filter role=worker | wc -l)" -ge 2 ] &&
      ! dk 1 node ls --format '{{.Status}}' | grep -qv Ready && return 0
    sleep 0.5
  done
  die "the swarm's nodes are not all Ready: $(dk 1 node ls)"
}

up() {
  local t0=$SECONDS n
  docker_up || die "the default Docker engine is not running"
  ensure_test_image
  net_up
  for n in $NODES; do has_ns "$n" && engine_up "$n"; done
  for n in $NODES; do
    wait_engine "$n"
    # No registry: every engine gets the image from the default one.
    dk "$n" image inspect "$TEST_IMAGE" >/dev/null 2>&1 ||
      docker save "$TEST_IMAGE" | dk "$n" load -q >/dev/null
  done
  swarm_up
  say "lab up in $((SECONDS - t0)) s; hub address $HUB_IP"
  dk 1 node ls
}

# The pids in node N's namespace (dockerd, containerd, shims, --network host containers) and all
# their descendants (a container with its own network namespace is a child of its shim).
ns_pids() {
  has_ns "$1" || return 0
  ps -e -o pid=,ppid= | awk -v seed="$(ip netns pids "$LAB-$1" | tr '\n' ' ')" '
    BEGIN { n = split(seed, a, " "); for (i = 1; i <= n; i++) keep[a[i]] = 1 }
    { parent[$1] = $2 }
    END { do { more = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; more = 1 } } while (more)
          for (p in keep) print p }'
}

# Exited engines can linger as zombies (pid 1 here reaps late), and kill -0 succeeds on those.
alive() { local st; st="$(ps -o stat= -p "$1" 2>/dev/null)" && [ "${st#Z}" = "$st" ]; }

down() {
  local n pid left
  declare -A pids=()
  # dockerd stops its containers and its containerd when asked politely (no live-restore); each
  # may wait 10 s for a container that ignores SIGTERM, so all engines are asked at once. The
  # pids are read first: dockerd removes its pid file while it shuts down.
  for n in $NODES; do
    pid="$(cat "/run/$LAB-$n.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && alive "$pid" && pids[$n]=$pid && say "stopping engine $n (pid $pid)" && kill -TERM "$pid"
  done
  for n in $NODES; do
    pid="${pids[$n]:-}"
    for _ in $(seq 1 40); do [ -n "$pid" ] && alive "$pid" || break; sleep 0.5; done
    # Whatever is still there (a hung or killed engine's containerd, shims, containers) is ours.
    left="$(ns_pids "$n")"
    [ -z "$left" ] || { warn "killing leftovers of node $n: $(echo $left)"; kill -KILL $left 2>/dev/null || true; sleep 0.5; }
    has_ns "$n" && ip netns del "$LAB-$n"
    # Mounts made by the engine lived in its own mount namespace and are gone with it; a lazy
    # unmount covers anything that leaked into the root namespace.
    awk -v a="/var/lib/$LAB-$n" -v b="/run/$LAB-$n" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' \
      /proc/mounts | sort -r | xargs -r -n1 umount -l
    # Empty cgroups of containers whose engine died before removing them (see --cgroup-parent).
    find /sys/fs/cgroup -depth -type d \( -name "$LAB-$n" -o -path "*/$LAB-$n/*" \) -exec rmdir {} + 2>/dev/null || true
    rm -rf "/var/lib/$LAB-$n" "/run/$LAB-$n" "/run/$LAB-$n.sock" "/run/$LAB-$n.pid" "/etc/netns/$LAB-$n"
  done
  rmdir /etc/netns 2>/dev/null || true # only if nobody else uses it
  ip link show "$BR" >/dev/null 2>&1 && ip link del "$BR"
  while iptables -D FORWARD "${LEAK[@]}" 2>/dev/null; do :; done
  say "lab down"
}

status() {
  local n
  for n in $NODES; do
    printf '%s: ' "$LAB-$n"
    dk "$n" info -f '{{.Name}} swarm={{.Swarm.LocalNodeState}} containers={{.ContainersRunning}}' 2>/dev/null ||
      echo "no engine on $(sock "$n")"
  done
  dk 1 node ls || return 1
  say "smoke test: a 3-replica service"
  dk 1 service rm dp-lab-smoke >/dev/null 2>&1 || true
  local t0=$SECONDS
  dk 1 service create --detach --name dp-lab-smoke --replicas 3 --no-resolve-image --stop-grace-period 1s \
    "$TEST_IMAGE" sleep 600 >/dev/null
  for _ in $(seq 1 60); do
    [ "$(dk 1 service ps dp-lab-smoke --filter desired-state=running \
      --format '{{.CurrentState}}' | grep -c '^Running')" = 3 ] && break
    sleep 0.5
  done
  dk 1 service ps dp-lab-smoke --format '{{.Name}} {{.Node}} {{.CurrentState}}'
  dk 1 service ls --filter name=dp-lab-smoke --format 'replicas {{.Replicas}} after '"$((SECONDS - t0))"' s'
  dk 1 service rm dp-lab-smoke >/dev/null
}

[ "$(id -u)" -eq 0 ] || die "the swarm lab needs root (network namespaces, dockerd)"
case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  exec)
    [ $# -ge 3 ] || die "usage: scripts/swarm_lab.sh exec N CMD..."
    n=$2; shift 2
    has_ns "$n" || die "no namespace $LAB-$n: run up first"
    DOCKER_HOST="$(sock "$n")" LAB_HOSTNAME="$LAB-$n" exec ip netns exec "$LAB-$n" \
      unshare --uts "$SELF" _inside "$@"
    ;;
  _inside) shift; inside_ns "$@" ;; # internal: see inside_ns
  *) die "usage: scripts/swarm_lab.sh up|down|status|exec N CMD..." ;;
esac
