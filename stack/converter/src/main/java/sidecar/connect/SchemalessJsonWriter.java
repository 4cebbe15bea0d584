package sidecar.connect;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.json.JsonConverter;

/**
 * The bytes JsonConverter writes with schemas.enable=false and replace.null.with.default=false,
 * written in one pass: JsonConverter builds a Jackson tree of the whole record (a node per value)
 * and then serialises it; this walks the Struct and writes UTF-8 straight into one reused buffer,
 * the way Jackson's generator writes each node type, so the output is byte for byte the same:
 * strings and field names escaped as Jackson escapes them (the short escapes for quote,
 * backslash, b, t, n, f, r; a 4-digit upper-case hex escape for every other control character
 * and for each UTF-16 surrogate; everything else as its UTF-8), integers in decimal, a float or
 * double as Float.toString or Double.toString (NaN and the infinities quoted). What it does not
 * write itself it hands to the JsonConverter it replaces and copies that output in: Connect's
 * logical types (Decimal, Date, Time, Timestamp: their encoding depends on the converter's
 * settings), BYTES, MAP, a value that is not a Struct at the top, and any value whose Java type
 * does not match its schema (so the error is JsonConverter's own).
 * stack/converter/check/WriterCheck.java compares the two on random records of every type.
 */
public final class SchemalessJsonWriter {
  /** The names JsonConverter converts through its logical-type table (by schema name, any type). */
  private static final Set<String> CONNECT_LOGICAL =
      Set.of(
          org.apache.kafka.connect.data.Decimal.LOGICAL_NAME,
          org.apache.kafka.connect.data.Date.LOGICAL_NAME,
          org.apache.kafka.connect.data.Time.LOGICAL_NAME,
          org.apache.kafka.connect.data.Timestamp.LOGICAL_NAME);

  private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);

  private final JsonConverter fallback;
  /** `"name":` of each field, encoded once per Field object (Debezium reuses its schemas). */
  private final Map<Field, byte[]> names = new IdentityHashMap<>();
  private byte[] buf = new byte[4096];
  private int len;

  public SchemalessJsonWriter(JsonConverter fallback) {
    this.fallback = fallback;
  }

  public synchronized byte[] write(String topic, Schema schema, Object value) {
    if (schema == null || value == null || schema.type() != Schema.Type.STRUCT || isLogical(schema))
      return fallback.fromConnectData(topic, schema, value);
    len = 0;
    try {
      writeStruct(topic, schema, (Struct) value);
    } catch (RuntimeException e) {
      // Whatever JsonConverter makes of it: the same bytes, or the same DataException.
      return fallback.fromConnectData(topic, schema, value);
    }
    if (buf.length > 1 << 20) buf = new byte[4096]; // do not keep one huge record's buffer
    return Arrays.copyOf(buf, len);
  }

  private static boolean isLogical(Schema schema) {
    String name = schema.name();
    return name != null && CONNECT_LOGICAL.contains(name);
  }

  private void writeStruct(String topic, Schema schema, Struct struct) {
    if (struct.schema() != schema && !struct.schema().equals(schema)) throw new DataException("Mismatching schema.");
    byte c = '{';
    List<Field> fields = schema.fields();
    for (int i = 0, n = fields.size(); i < n; i++) {
      Field field = fields.get(i);
      Schema fs = field.schema();
      // Struct.get(Field) answers the field's default for a null; JsonConverter reads without it.
      Object v = fs.defaultValue() == null ? struct.get(field) : struct.getWithoutDefault(field.name());
      put(c);
      c = ',';
      put(nameOf(field));
      writeValue(topic, fs, v);
    }
    if (c == '{') put((byte) '{');
    put((byte) '}');
  }

  private byte[] nameOf(Field field) {
    byte[] b = names.get(field);
    if (b != null) return b;
    int start = len;
    writeString(field.name());
    put((byte) ':');
    b = Arrays.copyOfRange(buf, start, len);
    len = start;
    if (names.size() > 100_000) names.clear();
    names.put(field, b);
    return b;
  }

  private void writeValue(String topic, Schema schema, Object value) {
    if (value == null) {
      // replace.null.with.default=false: a null stays null, and is an error for a required field.
      if (!schema.isOptional())
        throw new DataException("Conversion error: null value for field that is required and has no default value");
      put(NULL);
      return;
    }
    if (isLogical(schema)) {
      put(fallback.fromConnectData(topic, schema, value));
      return;
    }
    switch (schema.type()) {
      case STRING -> writeString(((CharSequence) value).toString());
      case INT64 -> ascii(Long.toString((Long) value));
      case INT32 -> ascii(Integer.toString((Integer) value));
      case INT16 -> ascii(Short.toString((Short) value));
      case INT8 -> ascii(Integer.toString((Byte) value));
      case BOOLEAN -> put((Boolean) value ? TRUE : FALSE);
      case FLOAT64 -> number(Double.toString((Double) value), Double.isFinite((Double) value));
      case FLOAT32 -> number(Float.toString((Float) value), Float.isFinite((Float) value));
      case STRUCT -> writeStruct(topic, schema, (Struct) value);
      case ARRAY -> {
        Schema elem = schema.valueSchema();
        byte c = '[';
        for (Object e : (java.util.Collection<?>) value) {
          put(c);
          c = ',';
          writeValue(topic, elem, e);
        }
        if (c == '[') put((byte) '[');
        put((byte) ']');
      }
      default -> put(fallback.fromConnectData(topic, schema, value)); // BYTES, MAP
    }
  }

  /** Jackson writes NaN and the infinities as strings (QUOTE_NON_NUMERIC_NUMBERS, on by default). */
  private void number(String text, boolean finite) {
    if (finite) ascii(text);
    else writeString(text);
  }

  private void writeString(String s) {
    int n = s.length();
    ensure(n * 6 + 2); // worst case: every char a 6-byte hex escape
    byte[] b = buf;
    int p = len;
    b[p++] = '"';
    for (int i = 0; i < n; i++) {
      char ch = s.charAt(i);
      if (ch < 0x80) {
        if (ch >= 0x20 && ch != '"' && ch != '\\') {
          b[p++] = (byte) ch;
          continue;
        }
        b[p++] = '\\';
        switch (ch) {
          case '"' -> b[p++] = '"';
          case '\\' -> b[p++] = '\\';
          case '\b' -> b[p++] = 'b';
          case '\t' -> b[p++] = 't';
          case '\n' -> b[p++] = 'n';
          case '\f' -> b[p++] = 'f';
          case '\r' -> b[p++] = 'r';
          default -> {
            b[p++] = 'u';
            b[p++] = '0';
            b[p++] = '0';
            b[p++] = HEX[ch >> 4];
            b[p++] = HEX[ch & 0xF];
          }
        }
      } else if (ch < 0x800) {
        b[p++] = (byte) (0xC0 | (ch >> 6));
        b[p++] = (byte) (0x80 | (ch & 0x3F));
      } else if (Character.isSurrogate(ch)) {
        // Jackson's UTF-8 generator escapes each surrogate, paired or not (no 4-byte UTF-8).
        b[p++] = '\\';
        b[p++] = 'u';
        b[p++] = HEX[ch >> 12];
        b[p++] = HEX[(ch >> 8) & 0xF];
        b[p++] = HEX[(ch >> 4) & 0xF];
        b[p++] = HEX[ch & 0xF];
      } else {
        b[p++] = (byte) (0xE0 | (ch >> 12));
        b[p++] = (byte) (0x80 | ((ch >> 6) & 0x3F));
        b[p++] = (byte) (0x80 | (ch & 0x3F));
      }
    }
    b[p++] = '"';
    len = p;
  }

  private void ascii(String s) {
    int n = s.length();
    ensure(n);
    for (int i = 0; i < n; i++) buf[len++] = (byte) s.charAt(i);
  }

  private void put(byte c) {
    ensure(1);
    buf[len++] = c;
  }

  private void put(byte[] bytes) {
    ensure(bytes.length);
    System.arraycopy(bytes, 0, buf, len, bytes.length);
    len += bytes.length;
  }

  private void ensure(int more) {
    if (len + more > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
  }
}
