#!/usr/bin/env bash
# The native stack (no Docker): Postgres from Debian's packages, Kafka (KRaft) and
# Kafka Connect + Debezium from jars that Maven resolves. Every process is started
# by this script, recorded by pid under $STACK_DIR/run, and stopped by that pid only.
#
#   stack.sh up | down | status | logs | clean | install | app | mariadb | prometheus | token | stop <part>
# MARIADB=1 stack.sh up also starts MariaDB (stack/mariadb.sh); PROMETHEUS=1 also starts Prometheus.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

LIB=$ROOT/stack/lib
RUN=$STACK_DIR/run
LOGS=$STACK_DIR/logs
PGDATA=$STACK_DIR/postgres

say()  { printf '\033[1m[stack]\033[0m %s\n' "$*"; }
die()  { printf '\033[31m[stack] error:\033[0m %s\n' "$1" >&2; shift; for l in "$@"; do printf '        %s\n' "$l" >&2; done; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {  # apt_install <what it is for> <packages...>
  local why=$1; shift
  is_root || die "$why is missing." "Install it with: sudo apt-get install -y $*"
  say "installing $* ($why)"
  if [ ! -f "$STACK_DIR/.apt-updated" ]; then
    apt-get update -qq >/dev/null || die "apt-get update failed." "Check the machine's package sources, then run make up again."
    mkdir -p "$STACK_DIR" && touch "$STACK_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || die "apt-get install $* failed." "Run it by hand to see why: apt-get install -y $*"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
port_free_or_die() {  # port_free_or_die <port> <variable> <part>
  port_open "$1" && die "port $1 for $3 is taken by another process." \
    "See which one with: ss -ltnp 'sport = :$1'" "Stop it, or pick another port: $2=<port> make up"
  return 0
}
wait_for() {  # wait_for <seconds> <description> <command...>
  local secs=$1 what=$2; shift 2
  for ((i = 0; i < secs * 4; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}

# --- prerequisites ----------------------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_prereqs() {
  [ -n "$(pg_bin)" ] || apt_install "PostgreSQL" postgresql
  if ! command -v java >/dev/null || [ "$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/{print $2}' | cut -d. -f1)" -lt 17 ]; then
    apt_install "Java 17 (Kafka 4 needs it)" openjdk-17-jdk-headless
  fi
  command -v javac >/dev/null || apt_install "a Java compiler (Maven builds the sidecar's Connect converter, stack/converter)" openjdk-17-jdk-headless
  command -v mvn >/dev/null || apt_install "Maven (resolves the Kafka and Debezium jars)" maven
  command -v jq >/dev/null || apt_install "jq (the README's tour picks fields out of JSON answers with it)" jq
  local stamp=$LIB/.resolved
  if [ ! -f "$stamp" ] || [ -n "$(find "$ROOT/stack" \( -name pom.xml -o -name "*.java" \) -newer "$stamp")" ]; then
    say "resolving Kafka and Debezium jars with Maven (first time: a minute or two)"
    rm -rf "$LIB"
    mvn -q -B -f "$ROOT/stack/pom.xml" package >"$STACK_DIR/maven.log" 2>&1 || die \
      "Maven could not resolve the Kafka/Debezium jars (see $STACK_DIR/maven.log)." \
      "Check that Maven can reach its repository (a proxy or mirror in ~/.m2/settings.xml), then run make up again."
    touch "$stamp"
  fi
}

# What the tests need beyond the stack: Debian's Chromium for the dashboard page test, and
# promtool (Debian's prometheus package) for the alert rules' tests.
install_test_prereqs() {
  [ -x /usr/bin/chromium ] || apt_install "Chromium (the dashboard page test drives it headless)" chromium
  command -v promtool >/dev/null || apt_install "promtool (the alert rules' tests)" --no-install-recommends prometheus
}

# --- Postgres ---------------------------------------------------------------
# Postgres refuses to run as root: as root we run it as the 'postgres' OS user
# that Debian's package creates, in a data directory under $STACK_DIR.
PG_OS_USER=$(id -un)
if is_root; then PG_OS_USER=postgres; fi
as_pg() { if is_root; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi; }

pg_up() {
  local bin; bin=$(pg_bin) running=no
  [ -f "$PGDATA/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1 && running=yes
  [ $running = yes ] || port_free_or_die "$PG_PORT" PG_PORT Postgres
  if is_root && ! id "$PG_OS_USER" >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
  fi
  mkdir -p "$PGDATA" "$RUN/pg-socket" && chmod 700 "$PGDATA"
  touch "$LOGS/postgres.log"
  is_root && chown "$PG_OS_USER" "$PGDATA" "$RUN/pg-socket" "$LOGS/postgres.log"
  as_pg test -w "$PGDATA" || die "the postgres OS user cannot write $PGDATA." \
    "Its parent folders must be traversable by '$PG_OS_USER' (chmod o+x), or set STACK_DIR to a folder it can reach."
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    say "initialising a Postgres cluster in $PGDATA"
    local pw; pw=$(mktemp); printf '%s\n' "$PG_PASSWORD" >"$pw"; chmod 644 "$pw"
    as_pg "$bin/initdb" -D "$PGDATA" -U "$PG_USER" --pwfile="$pw" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 \
      || { rm -f "$pw"; die "initdb failed (see $LOGS/initdb.log)."; }
    rm -f "$pw"
    cat >>"$PGDATA/postgresql.conf" <<CONF
# cqrs-sidecar native stack
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN/pg-socket'
wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
max_connections = 200
shared_buffers = 256MB
synchronous_commit = on
CONF
    printf 'host replication all 127.0.0.1/32 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  fi
  if [ $running = yes ]; then
    say "postgres already running"
  else
    say "starting postgres on 127.0.0.1:$PG_PORT"
    as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$LOGS/postgres.log" -o "-p $PG_PORT" -w -t 60 start >/dev/null \
      || die "Postgres refused to start (see $LOGS/postgres.log)." "A stale cluster can be removed with: make clean"
  fi
  head -n 1 "$PGDATA/postmaster.pid" >"$RUN/postgres.pid"
  PGPASSWORD=$PG_PASSWORD psql -qAt -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1 \
    || PGPASSWORD=$PG_PASSWORD psql -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -c "CREATE DATABASE \"$PG_DB\"" \
    || die "could not create database $PG_DB."
}

pg_down() {
  [ -f "$PGDATA/PG_VERSION" ] || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 && say "postgres stopped" || true
  rm -f "$RUN/postgres.pid"
}

source "$ROOT/stack/mariadb.sh"

# --- Kafka (KRaft, one node) and Kafka Connect --------------------------------
java_start() {  # java_start <name> <heap> <main class> <args...>
  local name=$1 heap=$2 main=$3; shift 3
  # shellcheck disable=SC2086
  nohup java $heap -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/stack/conf/log4j2.properties" \
    -cp "$LIB/kafka/*" "$main" "$@" >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

kafka_up() {
  local dir=$STACK_DIR/kafka
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
CONF
  if pid_alive kafka; then say "kafka already running"; return; fi
  port_free_or_die "$KAFKA_PORT" KAFKA_PORT Kafka
  port_free_or_die "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT "the Kafka controller"
  if [ ! -f "$dir/data/meta.properties" ]; then
    java -cp "$LIB/kafka/*" -Dlog4j2.configurationFile="$ROOT/stack/conf/log4j2.properties" kafka.tools.StorageTool \
      format -t "$(java -cp "$LIB/kafka/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$dir/server.properties" >>"$LOGS/kafka.log" 2>&1 || die "formatting Kafka's storage failed (see $LOGS/kafka.log)."
  fi
  say "starting kafka on $KAFKA_BROKERS"
  java_start kafka "$KAFKA_HEAP" kafka.Kafka "$dir/server.properties"
  wait_for 60 kafka port_open "$KAFKA_PORT" || die "Kafka did not open port $KAFKA_PORT within 60 s (see $LOGS/kafka.log)."
  pid_alive kafka || die "Kafka exited at start (see $LOGS/kafka.log)."
}

connect_up() {
  local dir=$STACK_DIR/connect
  mkdir -p "$dir"
  cat >"$dir/connect.properties" <<CONF
bootstrap.servers=$KAFKA_BROKERS
group.id=cqrs-sidecar-connect
listeners=http://127.0.0.1:$CONNECT_PORT
plugin.path=$LIB/plugins
plugin.discovery=only_scan
# JSON without the schema in every message: the schema once in the schema topic, its id in a header
# (stack/converter). A NULL stays NULL (the converter never writes a column's DEFAULT for it).
key.converter=sidecar.connect.SchemaIdJsonConverter
value.converter=sidecar.connect.SchemaIdJsonConverter
key.converter.bootstrap.servers=$KAFKA_BROKERS
value.converter.bootstrap.servers=$KAFKA_BROKERS
key.converter.schema.topic=$SCHEMA_TOPIC
value.converter.schema.topic=$SCHEMA_TOPIC
config.storage.topic=_connect_configs
offset.storage.topic=_connect_offsets
status.storage.topic=_connect_status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
# Commit source offsets often: after a Connect crash Debezium resumes from here (the slot keeps the rest),
# and the projector's consistency watermark follows them (src/projector/connect-offsets.ts).
offset.flush.interval.ms=${CONNECT_OFFSET_FLUSH_MS:-50}
CONF
  if pid_alive connect; then say "kafka connect already running"; return; fi
  port_free_or_die "$CONNECT_PORT" CONNECT_PORT "Kafka Connect"
  (cd "$ROOT" && node stack/offsets-topic.mjs "$KAFKA_BROKERS" _connect_offsets) \
    || die "could not create Kafka Connect's offsets topic _connect_offsets on $KAFKA_BROKERS."
  say "starting kafka connect on $KAFKA_CONNECT_URL"
  java_start connect "$CONNECT_HEAP" org.apache.kafka.connect.cli.ConnectDistributed "$dir/connect.properties"
  wait_for 120 connect curl -sf "$KAFKA_CONNECT_URL/connectors" \
    || die "Kafka Connect did not answer on $KAFKA_CONNECT_URL within 120 s (see $LOGS/connect.log)."
  curl -sf "$KAFKA_CONNECT_URL/connector-plugins" | grep -q PostgresConnector \
    || die "Kafka Connect runs but has no Debezium Postgres plugin (plugin.path=$LIB/plugins)." "Remove stack/lib and run make up again to re-resolve the jars."
  curl -sf "$KAFKA_CONNECT_URL/connector-plugins" | grep -q MariaDbConnector \
    || die "Kafka Connect runs but has no Debezium MariaDB plugin (plugin.path=$LIB/plugins)." "Remove stack/lib and run make up again to re-resolve the jars."
  curl -sf "$KAFKA_CONNECT_URL/connector-plugins?connectorsOnly=false" | grep -q SchemaIdJsonConverter \
    || die "Kafka Connect runs but has no sidecar converter (plugin.path=$LIB/plugins)." "Remove stack/lib and run make up again to build it."
  # Not a plugin Connect lists: the connector loads it by name (connectors/shop.json, sourceinfo.struct.maker).
  [ -f "$LIB/plugins/debezium-postgres/sidecar-source-info-1.jar" ] \
    || die "The Debezium Postgres plugin has no sidecar-source-info jar ($LIB/plugins/debezium-postgres)." "Remove stack/lib and run make up again to build it."
}

# --- API tokens -----------------------------------------------------------------
# Generated once, kept in $TOKENS (mode 600) and reused: the write API's commands and the read
# API's /api/* always need a bearer token. A token set in the environment wins over the file's.
TOKENS=$STACK_DIR/tokens
random_token() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
ensure_tokens() {
  if [ ! -s "$TOKENS" ]; then
    mkdir -p "$STACK_DIR"
    (umask 077 && printf 'API_TOKEN=%s\nREAD_API_TOKEN=%s\n' "$(random_token)" "$(random_token)" >"$TOKENS")
    say "generated API tokens in $TOKENS (mode 600; reused from now on)" >&2  # stdout may be eval'd
  fi
  chmod 600 "$TOKENS"
}
load_tokens() {
  ensure_tokens
  API_TOKEN=${API_TOKEN:-$(sed -n 's/^API_TOKEN=//p' "$TOKENS")}
  READ_API_TOKEN=${READ_API_TOKEN:-$(sed -n 's/^READ_API_TOKEN=//p' "$TOKENS")}
  export API_TOKEN READ_API_TOKEN
}
# Where to reach a role listening on $1 (a wildcard address is reached on loopback).
reach() {
  local h=${1:-127.0.0.1}
  case "$h" in
    0.0.0.0 | :: | '[::]') echo 127.0.0.1 ;;
    *:*) h=${h#[}; echo "[${h%]}]" ;;
    *) echo "$h" ;;
  esac
}
WRITE_URL="http://$(reach "${WRITE_API_HOST:-}"):${WRITE_API_PORT:-3000}"
READ_URL="http://$(reach "${READ_API_HOST:-}"):${READ_API_PORT:-3001}"
METRICS_URL="http://$(reach "${PROJECTOR_METRICS_HOST:-}"):${PROJECTOR_METRICS_PORT:-9464}"

# How to use the tokens, as lines a shell can eval: eval "$(make -s token)".
print_tokens() {
  load_tokens
  cat <<EOT
# cqrs-sidecar API tokens, kept in $TOKENS (mode 600). Load them into this shell with:
#   eval "\$(make -s token)"
export API_TOKEN=$API_TOKEN
export READ_API_TOKEN=$READ_API_TOKEN
# dashboard (the token stays in the URL fragment, which the browser never sends):
#   $READ_URL/#token=$READ_API_TOKEN
# write API:  curl -H "Authorization: Bearer \$API_TOKEN" $WRITE_URL/...
# read API:   curl -H "Authorization: Bearer \$READ_API_TOKEN" $READ_URL/api/tables
EOT
}

# The sidecar's roles (write, project, read) in one process: with embedded ClickHouse
# the projector and the read API must share a process. They listen on loopback unless
# WRITE_API_HOST / READ_API_HOST / PROJECTOR_METRICS_HOST say otherwise, with the tokens.
app_up() {
  load_tokens
  if pid_alive app; then
    say "sidecar roles already running"
    # Started before tokens were kept (or by hand without them): say so rather than show tokens it ignores.
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$READ_URL/api/tables")" = 200 ] \
      && say "warning: the running read API answers without a token; restart it with the tokens: bash stack/stack.sh stop app && make up"
    return 0
  fi
  port_free_or_die "${WRITE_API_PORT:-3000}" WRITE_API_PORT "the write API"
  port_free_or_die "${READ_API_PORT:-3001}" READ_API_PORT "the read API"
  say "starting the sidecar roles (write, project, read)"
  # node --import tsx, not the tsx wrapper (which forks): the recorded pid is the process to stop.
  # setsid: its own session, so neither a Ctrl-C in this terminal nor the end of a caller's process group stops it.
  (cd "$ROOT" || exit 1; setsid nohup node --import tsx src/main/cli.ts run >>"$LOGS/app.log" 2>&1 & echo $! >"$RUN/app.pid")
  # The projector joins its consumer group first: after an instance that did not leave it (killed),
  # Kafka waits out that member's session before the group (and then the APIs) can go on.
  wait_for 150 app curl -sf "$READ_URL/health" \
    || die "the sidecar's read API did not answer within 150 s (see $LOGS/app.log)."
  wait_for 30 app curl -sf "$WRITE_URL/health" \
    || die "the sidecar's write API did not answer within 30 s (see $LOGS/app.log)."
}

# Prometheus (Debian's package), with PROMETHEUS=1: scrapes the sidecar's projector metrics with the
# alert rules of ops/prometheus/alerts.yml loaded; data under $STACK_DIR/prometheus, loopback only.
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
prometheus_up() {
  command -v prometheus >/dev/null || apt_install "Prometheus (PROMETHEUS=1)" --no-install-recommends prometheus
  local dir=$STACK_DIR/prometheus
  mkdir -p "$dir/data"
  cat >"$dir/prometheus.yml" <<CONF
# Written by stack/stack.sh (PROMETHEUS=1): edits are overwritten by the next make up.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - "$ROOT/ops/prometheus/alerts.yml"
scrape_configs:
  - job_name: cqrs-sidecar
    static_configs:
      - targets: ["${METRICS_URL#http://}"]
CONF
  promtool check config "$dir/prometheus.yml" >"$LOGS/prometheus-check.log" 2>&1 \
    || die "Prometheus's configuration or the alert rules do not check (see $LOGS/prometheus-check.log)."
  if pid_alive prometheus; then
    kill -HUP "$(cat "$RUN/prometheus.pid")"  # reload: the rules may have changed
    say "prometheus already running (configuration reloaded): http://127.0.0.1:$PROMETHEUS_PORT"
    return
  fi
  port_free_or_die "$PROMETHEUS_PORT" PROMETHEUS_PORT Prometheus
  say "starting prometheus on http://127.0.0.1:$PROMETHEUS_PORT (scraping $METRICS_URL/metrics)"
  # setsid: its own session, like the app, so a Ctrl-C in this terminal does not stop it.
  setsid nohup prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >>"$LOGS/prometheus.log" 2>&1 &
  echo $! >"$RUN/prometheus.pid"
  wait_for 60 prometheus curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" \
    || die "Prometheus did not get ready on port $PROMETHEUS_PORT within 60 s (see $LOGS/prometheus.log)."
}

stop_pid() {  # stop_pid <name>: SIGTERM, then SIGKILL after 30 s
  pid_alive "$1" || { rm -f "$RUN/$1.pid"; return 0; }
  local pid; pid=$(cat "$RUN/$1.pid")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$RUN/$1.pid"
  say "$1 stopped"
}

status_line() {  # status_line <name> <where> <check command...>
  local name=$1 where=$2; shift 2
  if "$@" >/dev/null 2>&1; then printf '  %-9s up    %s\n' "$name" "$where"; else printf '  %-9s down  %s\n' "$name" "$where"; fi
}

cmd=${1:-}
mkdir -p "$RUN" "$LOGS"
case "$cmd" in
  install) install_prereqs ;;
  install-test) install_test_prereqs; install_mariadb ;;
  up)
    install_prereqs
    pg_up
    [ -n "${MARIADB:-}" ] && mariadb_up
    kafka_up
    connect_up
    if [ -n "${PROMETHEUS:-}" ]; then prometheus_up; fi
    ;;
  down)
    # The sidecar's own processes first, then the stack in reverse order.
    for p in prometheus app connect kafka; do stop_pid "$p"; done
    mariadb_down
    pg_down
    ;;
  app) app_up ;;
  mariadb) mariadb_up ;;  # start (only) MariaDB, e.g. for the tests that attach it
  prometheus) prometheus_up ;;  # start (only) Prometheus, as PROMETHEUS=1 make up does
  token) print_tokens ;;
  stop)  # stop one part: stop app|connect|kafka|postgres
    case "${2:-}" in
      postgres) pg_down ;;
      mariadb) mariadb_down ;;
      app|connect|kafka|prometheus) stop_pid "$2" ;;
      *) die "usage: stack.sh stop app|connect|kafka|postgres|mariadb|prometheus" ;;
    esac
    ;;
  status)
    status_line postgres "127.0.0.1:$PG_PORT ($DATABASE_URL)" env PGPASSWORD="$PG_PASSWORD" psql -qAt -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -c 'select 1'
    [ -f "$RUN/mariadb.pid" ] && status_line mariadb "127.0.0.1:$MARIADB_PORT ($MARIADB_URL)" mariadb_cli -e 'select 1'
    status_line kafka "$KAFKA_BROKERS" port_open "$KAFKA_PORT"
    status_line connect "$KAFKA_CONNECT_URL" curl -sf "$KAFKA_CONNECT_URL/connectors"
    status_line write "$WRITE_URL (write API, /openapi.json; commands need API_TOKEN)" curl -sf "$WRITE_URL/health"
    status_line read "$READ_URL (dashboard at /, read API; /api needs READ_API_TOKEN)" curl -sf "$READ_URL/health"
    status_line project "$METRICS_URL/metrics (projector)" curl -sf "$METRICS_URL/health"
    [ -f "$RUN/prometheus.pid" ] && status_line prometheus "http://127.0.0.1:$PROMETHEUS_PORT (alerts: /alerts)" curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
    if curl -sf "$KAFKA_CONNECT_URL/connectors?expand=status" >"$RUN/status.json" 2>/dev/null; then
      node -e 'const s=require(process.argv[1]);for(const [n,c] of Object.entries(s)){const t=(c.status.tasks||[]).map(t=>t.state).join(",");console.log(`  connector ${n}: ${c.status.connector.state}${t?" tasks "+t:""}`)}' "$RUN/status.json"
    fi
    if [ -s "$TOKENS" ]; then
      load_tokens
      printf '  tokens    %s (mode 600): eval "$(make -s token)" puts API_TOKEN and READ_API_TOKEN in your shell\n' "$TOKENS"
      printf '  page      %s/#token=%s\n' "$READ_URL" "$READ_API_TOKEN"
    else
      printf '  tokens    none yet: make up generates them (make token shows them)\n'
    fi
    ;;
  logs) tail -n 20 -F "$LOGS"/*.log ;;
  clean)
    "$0" down
    rm -rf "$STACK_DIR"
    say "removed $STACK_DIR"
    ;;
  *) echo "usage: stack.sh up|down|status|logs|clean|install|install-test|app|mariadb|prometheus|token|stop <part>" >&2; exit 2 ;;
esac
