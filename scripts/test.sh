#!/usr/bin/env bash
# Runs the whole test suite of the workspace: the one command to use, locally and in CI.
#
#   bash scripts/test.sh [extra cargo test args...]
#
# Integration tests need a PostgreSQL server. They connect with the admin URL in
# CUSTOMERS_TEST_PG_URL (default postgres://postgres:postgres@127.0.0.1:5432/postgres)
# and create their own uniquely named `customers_test_*` databases.
#
# If CUSTOMERS_TEST_PG_URL is not set, this script makes sure a local server is
# running at 127.0.0.1:5432 (starting it, or installing it with apt-get when run as
# root) and that the default URL can log in. If it is set, the server it points at
# is used as is.
set -euo pipefail

readonly PG_HOST=127.0.0.1
readonly PG_PORT=5432
readonly DEFAULT_PG_URL="postgres://postgres:postgres@${PG_HOST}:${PG_PORT}/postgres"
readonly READY_TIMEOUT_SECS=30

log() { echo "test.sh: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# --- a. PostgreSQL server at 127.0.0.1:5432 -----------------------------------------

# True when a server accepts connections at PG_HOST:PG_PORT.
pg_reachable() {
    if have pg_isready; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
    else
        timeout 2 bash -c "exec 3<>/dev/tcp/${PG_HOST}/${PG_PORT}" 2>/dev/null
    fi
}

# Newest installed cluster version (e.g. "15"), empty when none is installed.
installed_pg_version() {
    local dir
    for dir in /etc/postgresql/*/main; do
        if [ -d "$dir" ]; then basename "$(dirname "$dir")"; fi
    done | sort -V | tail -n 1
}

# Installs the postgresql package (root + apt-get only).
install_postgres() {
    log "PostgreSQL is not installed; installing it with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
}

# Starts the `main` cluster of the given version.
start_cluster() {
    local version="$1"
    log "starting PostgreSQL cluster ${version}/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
        pg_ctlcluster "$version" main start ||
        die "could not start PostgreSQL cluster ${version}/main (as root: pg_ctlcluster ${version} main start)"
}

# Waits until the server accepts connections, up to READY_TIMEOUT_SECS.
wait_for_pg() {
    local waited=0
    until pg_reachable; do
        if [ "$waited" -ge "$READY_TIMEOUT_SECS" ]; then
            die "PostgreSQL is not accepting connections at ${PG_HOST}:${PG_PORT} after ${READY_TIMEOUT_SECS}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

ensure_pg_running() {
    if pg_reachable; then
        log "PostgreSQL is up at ${PG_HOST}:${PG_PORT}"
        return
    fi
    local version
    version="$(installed_pg_version)"
    if [ -z "$version" ]; then
        if is_root && have apt-get; then
            install_postgres
            version="$(installed_pg_version)"
            [ -n "$version" ] || die "postgresql was installed but no cluster exists under /etc/postgresql/*/main"
        else
            log "PostgreSQL is not reachable at ${PG_HOST}:${PG_PORT} and is not installed."
            log "Either install and start it, e.g. on Debian/Ubuntu:"
            log "    sudo apt-get install -y postgresql && sudo pg_ctlcluster <version> main start"
            log "or point CUSTOMERS_TEST_PG_URL at a server where the user may create databases, e.g."
            log "    CUSTOMERS_TEST_PG_URL=postgres://user:password@host:5432/postgres bash scripts/test.sh"
            exit 1
        fi
    fi
    # The package may have started the cluster already (e.g. under systemd).
    pg_reachable || start_cluster "$version"
    wait_for_pg
    log "PostgreSQL ${version} is up at ${PG_HOST}:${PG_PORT}"
}

# --- b. The admin URL can log in ----------------------------------------------------

# True when psql can run a query with the URL (never prompts for a password).
can_login() {
    PGCONNECT_TIMEOUT=5 psql -w -X -q "$1" -c 'select 1' >/dev/null 2>&1
}

# Sets the password of role postgres to "postgres" through the local socket (root only).
set_postgres_password() {
    local sql="ALTER ROLE postgres PASSWORD 'postgres'"
    log "setting the password of role postgres so that ${DEFAULT_PG_URL} can log in"
    # cd / so that psql, running as postgres, does not complain about root's cwd.
    if have runuser; then
        (cd / && runuser -u postgres -- psql -X -q -c "$sql")
    else
        (cd / && su postgres -c "psql -X -q -c \"$sql\"")
    fi
}

ensure_default_login() {
    local url="$1"
    can_login "$url" && return
    if is_root; then
        set_postgres_password || die "could not set the password of role postgres"
        can_login "$url" && return
    fi
    log "cannot log in with ${url}:"
    PGCONNECT_TIMEOUT=5 psql -w -X -q "$url" -c 'select 1' >/dev/null || true
    die "make role postgres use password 'postgres' (as the postgres user: psql -c \"ALTER ROLE postgres PASSWORD 'postgres'\"), or set CUSTOMERS_TEST_PG_URL"
}

# --- c. Leftover throwaway databases ------------------------------------------------

# Drops test databases that nobody is connected to: leftovers of crashed runs. Databases of a
# run in progress (another terminal, another engineer) have connections and are left alone.
drop_leftover_databases() {
    local url="$1" name names
    names="$(psql -w -X -q "$url" -Atc "select d.datname from pg_database d
        where d.datname like 'customers\_test\_%'
          and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)")" ||
        die "cannot list databases with ${url}"
    [ -n "$names" ] || return 0
    while IFS= read -r name; do
        [ -n "$name" ] || continue
        log "dropping leftover database ${name}"
        psql -w -X -q "$url" -c "DROP DATABASE IF EXISTS \"${name//\"/\"\"}\"" >/dev/null 2>&1 ||
            log "could not drop ${name} (in use?); leaving it"
    done <<<"$names"
}

# --- e. Redis at 127.0.0.1:6379 (the event relay tests publish to it; some start their own
#        redis-server on a free port, so the binary must be installed) -----------------------

redis_reachable() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/6379" 2>/dev/null
}

ensure_redis() {
    if ! have redis-server; then
        if is_root && have apt-get; then
            log "Redis is not installed; installing redis-server with apt-get"
            DEBIAN_FRONTEND=noninteractive apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server
        else
            die "redis-server is not installed; install it (apt-get install -y redis-server) or run as root"
        fi
    fi
    if [ -n "${CUSTOMERS_TEST_REDIS_URL:-}" ] || redis_reachable; then
        return
    fi
    log "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    local waited=0
    until redis_reachable; do
        [ "$waited" -lt 30 ] || die "Redis does not answer at 127.0.0.1:6379"
        sleep 1
        waited=$((waited + 1))
    done
}

# --- d. The test suite --------------------------------------------------------------

# Runs the tests and ends with one summary line over every test binary:
# "total: N passed, N failed".
run_tests() {
    log "running cargo test --workspace $*${CARGO_TARGET_DIR:+ (CARGO_TARGET_DIR=${CARGO_TARGET_DIR})}"
    local output status=0
    output="$(mktemp)"
    cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$output" || status=$?
    awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
         END { printf "total: %d passed, %d failed\n", p, f }' "$output"
    rm -f "$output"
    return "$status"
}

main() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.."

    if [ -n "${CUSTOMERS_TEST_PG_URL:-}" ]; then
        log "using CUSTOMERS_TEST_PG_URL from the environment"
    else
        ensure_pg_running
        have psql || die "psql not found; install the postgresql client (apt-get install -y postgresql-client)"
        CUSTOMERS_TEST_PG_URL="$DEFAULT_PG_URL"
        ensure_default_login "$CUSTOMERS_TEST_PG_URL"
    fi
    export CUSTOMERS_TEST_PG_URL

    if have psql; then
        drop_leftover_databases "$CUSTOMERS_TEST_PG_URL"
    else
        log "psql not found; not dropping leftover customers_test_* databases"
    fi

    ensure_redis

    run_tests "$@"
}

main "$@"
