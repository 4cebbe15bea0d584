# Debezium's Connect image (with its MySQL and MariaDB connectors) plus the sidecar's converter (stack/converter)
# and the source block of its Postgres events (stack/source-info, next to the connector), built from source.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY stack/pom.xml stack/pom.xml
COPY stack/kafka/pom.xml stack/kafka/pom.xml
COPY stack/debezium/pom.xml stack/debezium/pom.xml
COPY stack/debezium-mysql/pom.xml stack/debezium-mysql/pom.xml
COPY stack/debezium-mariadb/pom.xml stack/debezium-mariadb/pom.xml
COPY stack/converter stack/converter
COPY stack/source-info stack/source-info
RUN mvn -q -B -f stack/pom.xml -pl converter,source-info package

FROM quay.io/debezium/connect:3.6
COPY --from=build /src/stack/lib/plugins/sidecar-converter /kafka/connect/sidecar-converter
COPY --from=build /src/stack/lib/plugins/debezium-postgres/sidecar-source-info-1.jar /kafka/connect/debezium-connector-postgres/
