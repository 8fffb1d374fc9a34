#!/bin/sh
# The farm's Redis credentials, made once by the one-shot `redis-secrets` service into the
# `farm-secrets` volume, so that no password is on a command line (`ps`) or in an environment
# (`docker inspect`): a random password per user in SECRETS_DIR/redis-<user>.password, and
# SECRETS_DIR/users.acl with their SHA-256 hashes for redis-server --aclfile. One ACL user per app
# (api, worker, agent), confined to the farm's keys and channels, as infra/redis/users.acl.example
# documents; `default` is the operator's. Idempotent: existing passwords are kept (delete a file
# and restart the farm to rotate it); users.acl is rewritten (QUEUE_PREFIX may change).
set -eu
dir=${SECRETS_DIR:-/secrets}
prefix=${QUEUE_PREFIX:-joblet}
api_uid=${API_UID:-1000}
redis_uid=${REDIS_UID:-999}
umask 077
mkdir -p "$dir"

password() {
  f="$dir/redis-$1.password"
  if [ ! -s "$f" ]; then
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$f.tmp"
    mv "$f.tmp" "$f"
  fi
  printf '#%s' "$(tr -d '\n' < "$f" | sha256sum | cut -d' ' -f1)"
}

farm="~$prefix:* &$prefix:* +@all -@dangerous +info"
{
  echo "user default on $(password default) ~* &* +@all"
  echo "user api on $(password api) $farm +client|list +restore"
  echo "user worker on $(password worker) $farm +client|list +restore"
  echo "user agent on $(password agent) $farm +restore"
} > "$dir/users.acl.tmp"
mv "$dir/users.acl.tmp" "$dir/users.acl"

# Each file readable by the one process that needs it: redis-server (uid 999) the hashes, the
# API (uid 1000) its password; workers and agents run as root.
chown "$redis_uid" "$dir/users.acl"
chown "$api_uid" "$dir/redis-api.password"
chmod 0400 "$dir"/*.password "$dir/users.acl"
chmod 0711 "$dir"
echo "redis-secrets: users default, api, worker, agent in $dir/users.acl (prefix $prefix)"
