# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for user postgres.
# Sourced by .ci/run; sets PG_URL.
PG_URL="${PORTCULLIS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

ensure_postgres() {
  if pg_up; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -qE '^host\s+all\s+all\s+127.0.0.1/32\s+trust' "$hba"; then
    sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(host\s+all\s+all\s+::1\/128\s+)\S+/\1trust/' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not start"; return 1; }
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
}

# Each test makes its own database (portcullis_t_*); remove what earlier runs left.
drop_test_databases() {
  psql "$PG_URL" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'portcullis_t_%'" 2>/dev/null |
    while read -r db; do
      [ -n "$db" ] && psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
}
