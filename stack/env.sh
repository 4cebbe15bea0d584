# Native stack settings: one place, sourced by stack.sh. Every value can be
# overridden from the environment; the TypeScript config uses the same defaults.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${STACK_DIR:=$ROOT/.stack}"           # data, logs and pid files of the native stack
: "${PG_PORT:=55432}"
: "${PG_USER:=postgres}"
: "${PG_PASSWORD:=postgres}"
: "${PG_DB:=shop}"
: "${KAFKA_PORT:=9092}"
: "${KAFKA_CONTROLLER_PORT:=9093}"
: "${CONNECT_PORT:=8083}"
: "${KAFKA_HEAP:=-Xms256m -Xmx768m}"
: "${CONNECT_HEAP:=-Xms256m -Xmx768m}"
: "${MARIADB_PORT:=53306}"                # MariaDB (started only with MARIADB=1 or by the tests that need it)
: "${MARIADB_USER:=root}"
: "${MARIADB_PASSWORD:=mariadb}"
: "${MARIADB_URL:=mariadb://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT}"
: "${DATABASE_URL:=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB}"
: "${KAFKA_BROKERS:=127.0.0.1:$KAFKA_PORT}"
: "${KAFKA_CONNECT_URL:=http://127.0.0.1:$CONNECT_PORT}"
: "${SCHEMA_TOPIC:=_sidecar_schemas}"    # where Connect's converter stores each schema once (src/shared/config.ts)
export STACK_DIR PG_PORT PG_USER PG_PASSWORD PG_DB KAFKA_PORT KAFKA_CONTROLLER_PORT CONNECT_PORT \
  DATABASE_URL KAFKA_BROKERS KAFKA_CONNECT_URL SCHEMA_TOPIC MARIADB_PORT MARIADB_USER MARIADB_PASSWORD MARIADB_URL
