#!/usr/bin/env bash
# Start Debian's PostgreSQL 15 cluster and make the sipflow role and the sipflow_test database.
# Idempotent: every step checks first, so on a machine where all is in place it takes well under a second.
# Prints the URL to put in SIPFLOW_TEST_DATABASE_URL.
set -euo pipefail

VERSION="${PG_VERSION:-15}"
CLUSTER="${PG_CLUSTER:-main}"
ROLE="${PG_TEST_ROLE:-sipflow}"
PASSWORD="${PG_TEST_PASSWORD:-sipflow}"
DATABASE="${PG_TEST_DATABASE:-sipflow_test}"

# PostgreSQL refuses to run as root: every server-side command runs as the postgres user.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -n -u postgres -- "$@"
    fi
}

if ! command -v pg_ctlcluster >/dev/null; then
    echo "postgres-test-db: PostgreSQL is not installed (apt-get install postgresql)" >&2
    exit 1
fi
# The Debian package creates the cluster on install; a machine set up without it (or with it dropped) gets one.
if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
    pg_createcluster "$VERSION" "$CLUSTER" >/dev/null
fi
if ! pg_ctlcluster "$VERSION" "$CLUSTER" status >/dev/null 2>&1; then
    pg_ctlcluster "$VERSION" "$CLUSTER" start
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { print $3 }')"

psql_admin() {
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"
}

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
    psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD' CREATEDB"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
    as_postgres createdb -p "$PORT" -O "$ROLE" "$DATABASE"
fi

echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
