# MariaDB for the native stack (sourced by stack.sh; started only when asked: MARIADB=1, or by
# install-test for the MySQL/MariaDB tests). Debian's server binaries (mariadb-server-core, no
# system service), a data directory of its own under $STACK_DIR, its own port, run as the 'mysql'
# OS user when we are root. The binary log is on, row-based, full row images: what Debezium's
# MySQL connector needs (src/mysql/preflight.ts checks the same on any server).
MARIADB_DATA=$STACK_DIR/mariadb
MARIADB_CNF=$STACK_DIR/mariadb.cnf
MY_OS_USER=$(id -un)
if is_root; then MY_OS_USER=mysql; fi
as_my() { if is_root; then runuser -u "$MY_OS_USER" -- "$@"; else "$@"; fi; }

install_mariadb() {
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] \
    || apt_install "MariaDB (the MySQL/MariaDB attach tests and MARIADB=1)" mariadb-server-core mariadb-client-core
  if is_root && ! id "$MY_OS_USER" >/dev/null 2>&1; then
    useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin "$MY_OS_USER"
  fi
}

mariadb_cli() { mariadb --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" -u "$MARIADB_USER" -p"$MARIADB_PASSWORD" "$@"; }

mariadb_up() {
  install_mariadb
  if pid_alive mariadb; then say "mariadb already running"; return; fi
  port_free_or_die "$MARIADB_PORT" MARIADB_PORT MariaDB
  mkdir -p "$MARIADB_DATA" "$RUN/mariadb-socket" && chmod 700 "$MARIADB_DATA"
  touch "$LOGS/mariadb.log"
  is_root && chown "$MY_OS_USER" "$MARIADB_DATA" "$RUN/mariadb-socket" "$LOGS/mariadb.log"
  as_my test -w "$MARIADB_DATA" || die "the $MY_OS_USER OS user cannot write $MARIADB_DATA." \
    "Its parent folders must be traversable by '$MY_OS_USER' (chmod o+x), or set STACK_DIR to a folder it can reach."
  cat >"$MARIADB_CNF" <<CONF
[mariadbd]
datadir=$MARIADB_DATA
port=$MARIADB_PORT
bind-address=127.0.0.1
socket=$RUN/mariadb-socket/mariadb.sock
pid-file=$RUN/mariadb-socket/mariadb.pid
log-error=$LOGS/mariadb.log
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_bin
# What Debezium's MySQL connector needs: a row-based binary log with whole rows, a server id.
server_id=1
log_bin=mariadb-bin
binlog_format=ROW
binlog_row_image=FULL
binlog_expire_logs_seconds=604800
innodb_buffer_pool_size=256M
max_connections=200
CONF
  chmod 644 "$MARIADB_CNF"
  if [ ! -d "$MARIADB_DATA/mysql" ]; then
    say "initialising a MariaDB data directory in $MARIADB_DATA"
    as_my mariadb-install-db --defaults-file="$MARIADB_CNF" --auth-root-authentication-method=normal \
      --skip-test-db --user="$MY_OS_USER" >"$LOGS/mariadb-install.log" 2>&1 || die "mariadb-install-db failed (see $LOGS/mariadb-install.log)."
  fi
  say "starting mariadb on 127.0.0.1:$MARIADB_PORT"
  # --user: started as root, mariadbd switches to that user itself, so the recorded pid is the server's.
  local as_user=(); is_root && as_user=(--user="$MY_OS_USER")
  nohup mariadbd --defaults-file="$MARIADB_CNF" "${as_user[@]}" >>"$LOGS/mariadb.log" 2>&1 &
  echo $! >"$RUN/mariadb.pid"
  wait_for 60 mariadb port_open "$MARIADB_PORT" || die "MariaDB did not open port $MARIADB_PORT within 60 s (see $LOGS/mariadb.log)."
  # A fresh data directory has root only on the socket and without a password: give it the stack's.
  if ! mariadb_cli -e 'SELECT 1' >/dev/null 2>&1; then
    as_my mariadb --no-defaults -S "$RUN/mariadb-socket/mariadb.sock" -u root -e \
      "CREATE USER IF NOT EXISTS '$MARIADB_USER'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
       ALTER USER '$MARIADB_USER'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
       GRANT ALL ON *.* TO '$MARIADB_USER'@'127.0.0.1' WITH GRANT OPTION;" \
      || die "could not set MariaDB's password for $MARIADB_USER (see $LOGS/mariadb.log)."
  fi
  mariadb_cli -e 'SELECT 1' >/dev/null || die "MariaDB does not accept $MARIADB_USER on 127.0.0.1:$MARIADB_PORT."
}

mariadb_down() {
  [ -f "$RUN/mariadb.pid" ] || return 0
  stop_pid mariadb
}
