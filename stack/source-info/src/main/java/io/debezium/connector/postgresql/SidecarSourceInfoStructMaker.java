package io.debezium.connector.postgresql;

import io.debezium.config.CommonConnectorConfig;
import io.debezium.connector.SnapshotRecord;
import io.debezium.connector.SourceInfoStructMaker;
import java.time.Instant;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;

/**
 * The `source` block of the sidecar's Postgres change events: what the projector reads (schema,
 * table, lsn, ts_us, snapshot; sequence only where an event has no lsn) and what Debezium's own
 * metrics read back from it (ts_ms, txId, xmin). Debezium's default block also carries version,
 * connector, server name, database, ts_ns and origin, and computes `sequence` (a JSON array built
 * with Jackson, twice) for every event: about 180 of a 690-byte message, written by Connect, kept
 * by the broker and parsed by the projector for nothing.
 *
 * In Debezium's package because SourceInfo's getters are package-private; the jar sits in the
 * connector's plugin directory so that both share one class loader.
 */
public class SidecarSourceInfoStructMaker implements SourceInfoStructMaker<SourceInfo> {
    private Schema schema;

    @Override
    public void init(String connector, String version, CommonConnectorConfig config) {
        schema = SchemaBuilder.struct()
                .name("sidecar.postgresql.Source")
                .field("ts_ms", Schema.INT64_SCHEMA)
                .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA)
                .field("snapshot", Schema.OPTIONAL_STRING_SCHEMA)
                .field("schema", Schema.STRING_SCHEMA)
                .field("table", Schema.STRING_SCHEMA)
                .field("txId", Schema.OPTIONAL_INT64_SCHEMA)
                .field("lsn", Schema.OPTIONAL_INT64_SCHEMA)
                .field("xmin", Schema.OPTIONAL_INT64_SCHEMA)
                .field("sequence", Schema.OPTIONAL_STRING_SCHEMA)
                .build();
    }

    @Override
    public Schema schema() {
        return schema;
    }

    @Override
    public Struct struct(SourceInfo info) {
        Instant ts = info.timestamp() == null ? Instant.now() : info.timestamp();
        Struct s = new Struct(schema)
                .put("ts_ms", ts.toEpochMilli())
                .put("ts_us", ts.getEpochSecond() * 1_000_000L + ts.getNano() / 1_000)
                .put("schema", info.schemaName())
                .put("table", info.tableName());
        SnapshotRecord snapshot = info.snapshot();
        if (snapshot != null) snapshot.toSource(s);
        if (info.txId() != null) s.put("txId", info.txId());
        if (info.xmin() != null) s.put("xmin", info.xmin());
        if (info.lsn() != null) s.put("lsn", info.lsn().asLong());
        // An incremental snapshot's rows have no lsn: their stream position is the sequence.
        else s.put("sequence", info.sequence());
        return s;
    }
}
