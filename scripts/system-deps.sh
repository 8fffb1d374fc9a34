#!/usr/bin/env bash
# Installs and starts what the farm and its tests need on a Debian host, as root. Idempotent:
# does nothing that is already done, so a second run takes a second.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have redis-server || need_pkgs+=(redis-server)
have redis-cli || need_pkgs+=(redis-tools)
have bwrap || need_pkgs+=(bubblewrap)
have slirp4netns || need_pkgs+=(slirp4netns)
have debootstrap || need_pkgs+=(debootstrap)
have zstd || need_pkgs+=(zstd)
have tar || need_pkgs+=(tar)
have qemu-aarch64-static || need_pkgs+=(qemu-user-static)
have update-binfmts || need_pkgs+=(binfmt-support)
have ip || need_pkgs+=(iproute2)
have nft || need_pkgs+=(nftables)
have nsenter || need_pkgs+=(util-linux)
have newuidmap || need_pkgs+=(uidmap)
have docker-compose || need_pkgs+=(docker-compose)
have openssl || need_pkgs+=(openssl)
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
# Prometheus and promtool: the alert rules' unit tests and the dashboard's queries run against them.
have promtool || need_pkgs+=(prometheus)
# zsh and fish: `rnx completion zsh|fish` is loaded into each in its test.
have zsh || need_pkgs+=(zsh)
have fish || need_pkgs+=(fish)

if ((${#need_pkgs[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${need_pkgs[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "installing: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # The package starts a Prometheus service of its own on a systemd host; the tests run their own.
  if [[ " ${need_pkgs[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# Rootless builds: root inside a build sandbox is an unprivileged host id range delegated to
# root (WORKER_BUILD_SUBID_BASE, default 100000, 65536 ids). Added once; a host where another
# user already has part of that range must pick another base (the worker refuses to start).
subid_base="${WORKER_BUILD_SUBID_BASE:-100000}"
for f in /etc/subuid /etc/subgid; do
  if ! grep -qx "root:${subid_base}:65536" "$f" 2>/dev/null; then
    if [ "$(id -u)" != 0 ]; then
      echo "$f lacks root:${subid_base}:65536 (run as root to add it)" >&2
      exit 1
    fi
    echo "delegating host ids ${subid_base}-$((subid_base + 65535)) to root in $f (rootless builds)"
    echo "root:${subid_base}:65536" >>"$f"
  fi
done

# Redis: use the one answering on 127.0.0.1:6379, or start one without persistence.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/joblet-farm.log
  for _ in $(seq 1 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli ping >/dev/null
fi
