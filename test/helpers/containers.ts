import { GenericContainer, Network, Wait } from "testcontainers";
import type { StackEnv } from "./stack.js";

/**
 * TEST_STACK=containers: the same real parts from official images, for machines with a
 * Docker engine. Versions follow docker-compose.yml.
 */
export async function startContainers(): Promise<{ env: StackEnv; stop: () => Promise<void> }> {
  const network = await new Network().start();
  const postgres = await new GenericContainer("postgres:17")
    .withNetwork(network)
    .withNetworkAliases("postgres")
    .withEnvironment({ POSTGRES_PASSWORD: "postgres", POSTGRES_DB: "shop" })
    .withCommand(["postgres", "-c", "wal_level=logical", "-c", "max_replication_slots=16", "-c", "max_wal_senders=16"])
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
    .start();
  const kafka = await new GenericContainer("apache/kafka:4.1.1")
    .withNetwork(network)
    .withNetworkAliases("kafka")
    .withExposedPorts({ container: 9092, host: 19092 })
    .withEnvironment({
      KAFKA_NODE_ID: "1",
      KAFKA_PROCESS_ROLES: "broker,controller",
      KAFKA_LISTENERS: "PLAINTEXT://:9092,INTERNAL://:29092,CONTROLLER://:9093",
      KAFKA_ADVERTISED_LISTENERS: "PLAINTEXT://127.0.0.1:19092,INTERNAL://kafka:29092",
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
      KAFKA_INTER_BROKER_LISTENER_NAME: "INTERNAL",
      KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
      KAFKA_CONTROLLER_QUORUM_VOTERS: "1@kafka:9093",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
    })
    .start();
  const connect = await new GenericContainer("quay.io/debezium/connect:3.6")
    .withNetwork(network)
    .withEnvironment({
      BOOTSTRAP_SERVERS: "kafka:29092",
      GROUP_ID: "cqrs-sidecar-connect",
      CONFIG_STORAGE_TOPIC: "_connect_configs",
      OFFSET_STORAGE_TOPIC: "_connect_offsets",
      STATUS_STORAGE_TOPIC: "_connect_status",
    })
    .withExposedPorts(8083)
    .withWaitStrategy(Wait.forHttp("/connectors", 8083))
    .start();
  const env: StackEnv = {
    DATABASE_URL: `postgres://postgres:postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/shop`,
    KAFKA_BROKERS: "127.0.0.1:19092",
    KAFKA_CONNECT_URL: `http://${connect.getHost()}:${connect.getMappedPort(8083)}`,
    CONNECT_DATABASE_URL: "postgres://postgres:postgres@postgres:5432/shop",
  };
  return {
    env,
    stop: async () => {
      await connect.stop();
      await kafka.stop();
      await postgres.stop();
      await network.stop();
    },
  };
}
