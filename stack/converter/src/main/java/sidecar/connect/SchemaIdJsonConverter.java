package sidecar.connect;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.storage.Converter;

/**
 * Kafka Connect's JSON, without the schema in every message: the payload is written as
 * JsonConverter writes it with schemas.enable=false (replace.null.with.default=false: a NULL stays
 * NULL), byte for byte, though in one pass (SchemalessJsonWriter); the schema JSON
 * (JsonConverter's own form) is written once to a compacted topic keyed
 * by its id, and each message carries the id in a header (sidecar.schema, or sidecar.key.schema
 * for keys). The id is the first 16 hex digits of the schema text's SHA-256, so equal schemas share
 * it whatever connector or worker wrote them. A schema is stored (acknowledged by the broker)
 * before the first message that names it is handed to the producer, so a consumer that has read
 * the schema topic to its end knows every id it meets.
 *
 * Settings (prefixed key.converter. / value.converter.): bootstrap.servers, schema.topic
 * (default _sidecar_schemas).
 */
public class SchemaIdJsonConverter implements Converter {
  public static final String VALUE_HEADER = "sidecar.schema";
  public static final String KEY_HEADER = "sidecar.key.schema";

  /** Ids already stored, shared by every converter instance of the worker. */
  private static final Set<String> STORED = ConcurrentHashMap.newKeySet();

  private final JsonConverter payload = new JsonConverter();
  private final SchemalessJsonWriter writer = new SchemalessJsonWriter(payload);
  private final JsonConverter schemaWriter = new JsonConverter();
  private final ObjectMapper mapper = new ObjectMapper();
  private final Map<Schema, String> ids = new IdentityHashMap<>();
  private String header;
  private String schemaTopic;
  private Map<String, Object> clientConfig;
  private KafkaProducer<byte[], byte[]> producer;

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    header = isKey ? KEY_HEADER : VALUE_HEADER;
    Object topic = configs.get("schema.topic");
    schemaTopic = topic == null ? "_sidecar_schemas" : topic.toString();
    Object bootstrap = configs.get("bootstrap.servers");
    if (bootstrap == null) throw new DataException("SchemaIdJsonConverter needs bootstrap.servers");
    clientConfig = new HashMap<>();
    clientConfig.put("bootstrap.servers", bootstrap.toString());

    Map<String, Object> json = new HashMap<>();
    json.put("converter.type", isKey ? "key" : "value");
    json.put("schemas.enable", false);
    json.put("replace.null.with.default", false);
    payload.configure(json);
    Map<String, Object> schemas = new HashMap<>(json);
    schemas.put("schemas.enable", true);
    schemaWriter.configure(schemas);
  }

  @Override
  public byte[] fromConnectData(String topic, Schema schema, Object value) {
    return writer.write(topic, schema, value);
  }

  @Override
  public byte[] fromConnectData(String topic, Headers headers, Schema schema, Object value) {
    byte[] bytes = writer.write(topic, schema, value);
    if (schema != null && headers != null) headers.add(header, idOf(schema).getBytes(StandardCharsets.UTF_8));
    return bytes;
  }

  @Override
  public SchemaAndValue toConnectData(String topic, byte[] value) {
    return payload.toConnectData(topic, value);
  }

  @Override
  public void close() {
    if (producer != null) producer.close();
    payload.close();
    schemaWriter.close();
  }

  /** Debezium reuses one Schema object per table shape: the id is computed once per object. */
  private synchronized String idOf(Schema schema) {
    String id = ids.get(schema);
    if (id != null) return id;
    try {
      byte[] text = mapper.writeValueAsBytes(schemaWriter.asJsonSchema(schema));
      id = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text)).substring(0, 16);
      if (!STORED.contains(id)) {
        producer().send(new ProducerRecord<>(schemaTopic, id.getBytes(StandardCharsets.UTF_8), text)).get();
        STORED.add(id);
      }
    } catch (NoSuchAlgorithmException | java.io.IOException e) {
      throw new DataException("cannot serialise a schema", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DataException("interrupted while storing a schema", e);
    } catch (java.util.concurrent.ExecutionException e) {
      // Retriable for Connect: the record is converted again.
      throw new org.apache.kafka.connect.errors.RetriableException("cannot store a schema in " + schemaTopic, e);
    }
    if (ids.size() > 10_000) ids.clear();
    ids.put(schema, id);
    return id;
  }

  private KafkaProducer<byte[], byte[]> producer() {
    if (producer != null) return producer;
    createTopic();
    Map<String, Object> c = new HashMap<>(clientConfig);
    c.put(ProducerConfig.ACKS_CONFIG, "all");
    c.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    c.put(ProducerConfig.CLIENT_ID_CONFIG, "sidecar-schema-writer");
    producer = new KafkaProducer<>(c, new ByteArraySerializer(), new ByteArraySerializer());
    return producer;
  }

  /** One partition, compacted: the newest record per id is kept for good. */
  private void createTopic() {
    try (Admin admin = Admin.create(clientConfig)) {
      NewTopic t = new NewTopic(schemaTopic, 1, (short) 1).configs(Map.of("cleanup.policy", "compact"));
      admin.createTopics(List.of(t)).all().get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException))
        throw new DataException("cannot create the schema topic " + schemaTopic, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DataException("interrupted while creating " + schemaTopic, e);
    }
  }
}
