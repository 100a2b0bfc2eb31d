# Sourced by .ci/test and .ci/run: makes TEST_DATABASE_URL point at a PostgreSQL server.
# Uses TEST_DATABASE_URL when set, else 127.0.0.1:5432 when it answers, else starts a private
# cluster from the installed server binaries and stops and removes it when the shell exits.

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
  if answers 127.0.0.1 5432; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432"
  else
    pg_bin=$(command -v pg_ctl >/dev/null && dirname "$(command -v pg_ctl)" || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -z "$pg_bin" || ! -x "$pg_bin/initdb" ]]; then
      echo "no PostgreSQL on 127.0.0.1:5432 and no server binaries (initdb, pg_ctl) to start one: install PostgreSQL or set TEST_DATABASE_URL" >&2
      exit 1
    fi
    pg_dir=$(mktemp -d /tmp/salesfunnel-test-pg.XXXXXX)
    chmod 755 "$pg_dir"
    pg_as=()
    if [[ $(id -u) == 0 ]]; then
      # initdb and postgres refuse to run as root.
      chown postgres: "$pg_dir"
      pg_as=(setpriv --reuid=postgres --regid=postgres --init-groups)
    fi
    pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
    "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    stop_private_postgres() { "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null || true; rm -rf "$pg_dir"; }
    trap stop_private_postgres EXIT
    "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
      -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c fsync=off" start >/dev/null
    echo "started a private PostgreSQL on 127.0.0.1:$pg_port"
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port"
  fi
fi
