#!/bin/sh
# One-shot set-up of the farm's MinIO (run by the `minio-init` compose service, image minio/mc):
# the bucket, a writer user (workers: read/write/delete), a reader user (agents: read-only) and
# the API's user (read and delete: `rnx runtime remove`, garbage collection, canceled builds'
# staging; it never uploads), each with its own policy. Idempotent: safe to run on every
# `docker compose up`.
# Policy files are templates: BUCKET is replaced by the bucket name.
set -eu
POLICY_DIR="${POLICY_DIR:-/init}"
: "${MINIO_URL:?}" "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${BUCKET:?}"
: "${WRITER_ACCESS_KEY:?}" "${WRITER_SECRET_KEY:?}" "${READER_ACCESS_KEY:?}" "${READER_SECRET_KEY:?}"
: "${API_ACCESS_KEY:?}" "${API_SECRET_KEY:?}"

# MinIO may still be starting even when its healthcheck passed once: retry for up to 60 s.
tries=0
until mc alias set farm "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "minio-init: MinIO at $MINIO_URL did not accept the root credentials" >&2
    exit 1
  fi
  sleep 1
done

mc mb --ignore-existing "farm/$BUCKET"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# user_with_policy USER SECRET POLICY-NAME TEMPLATE
user_with_policy() {
  sed "s/BUCKET/$BUCKET/g" "$4" >"$tmp/$3.json"
  mc admin policy create farm "$3" "$tmp/$3.json" >/dev/null
  # `user add` on an existing user resets its secret: the one in the environment wins.
  mc admin user add farm "$1" "$2" >/dev/null
  # On a rerun the policy is attached already ("...already in effect"): that is success.
  if ! out=$(mc admin policy attach farm "$3" --user "$1" 2>&1); then
    case "$out" in
      *already*) ;;
      *) echo "minio-init: attaching $3 to $1: $out" >&2 && exit 1 ;;
    esac
  fi
  echo "minio-init: user $1 has policy $3 on bucket $BUCKET"
}

user_with_policy "$WRITER_ACCESS_KEY" "$WRITER_SECRET_KEY" farm-writer "$POLICY_DIR/farm-writer.policy.json"
user_with_policy "$READER_ACCESS_KEY" "$READER_SECRET_KEY" farm-reader "$POLICY_DIR/farm-reader.policy.json"
user_with_policy "$API_ACCESS_KEY" "$API_SECRET_KEY" farm-api "$POLICY_DIR/farm-api.policy.json"
