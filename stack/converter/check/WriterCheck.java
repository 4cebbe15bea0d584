package sidecar.connect;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.json.JsonConverter;

/**
 * SchemalessJsonWriter against JsonConverter (schemas.enable=false, replace.null.with.default=false):
 * the same bytes, or both failing, for random Debezium-shaped envelopes of every Connect type.
 *
 *   java -cp "stack/lib/kafka/*:stack/lib/plugins/sidecar-converter/*" stack/converter/check/WriterCheck.java [records]
 */
public class WriterCheck {
  static final Random rnd = new Random(23);

  static Schema field(Schema.Type t, boolean optional) {
    SchemaBuilder b =
        switch (t) {
          case STRING -> SchemaBuilder.string();
          case INT8 -> SchemaBuilder.int8();
          case INT16 -> SchemaBuilder.int16();
          case INT32 -> SchemaBuilder.int32();
          case INT64 -> SchemaBuilder.int64();
          case FLOAT32 -> SchemaBuilder.float32();
          case FLOAT64 -> SchemaBuilder.float64();
          case BOOLEAN -> SchemaBuilder.bool();
          case BYTES -> SchemaBuilder.bytes();
          default -> throw new IllegalArgumentException();
        };
    if (optional) b.optional();
    return b.build();
  }

  static String str() {
    int n = rnd.nextInt(12);
    StringBuilder sb = new StringBuilder();
    String pool = "aZ09 \"\\/\n\t\r\b\f\u0000\u0001\u001f\u007f\u00e9\u2028\u2029\u20ac\ud83d\ude00<>&'";
    for (int i = 0; i < n; i++) {
      int k = rnd.nextInt(pool.length());
      char c = pool.charAt(k);
      if (Character.isHighSurrogate(c) && rnd.nextInt(4) > 0) sb.append(c).append(pool.charAt(k + 1));
      else sb.append(c); // now and then a lone surrogate
    }
    return sb.toString();
  }

  static Object value(Schema s) {
    if (s.isOptional() && rnd.nextInt(5) == 0) return null;
    if (Decimal.LOGICAL_NAME.equals(s.name())) return new BigDecimal(rnd.nextLong()).movePointLeft(Integer.parseInt(s.parameters().get(Decimal.SCALE_FIELD)));
    if (Date.LOGICAL_NAME.equals(s.name())) return Date.toLogical(s, rnd.nextInt(40000) - 20000);
    if (Time.LOGICAL_NAME.equals(s.name())) return Time.toLogical(s, rnd.nextInt(86_400_000));
    if (Timestamp.LOGICAL_NAME.equals(s.name())) return Timestamp.toLogical(s, rnd.nextLong() / 1000);
    return switch (s.type()) {
      case STRING -> str();
      case INT8 -> (byte) rnd.nextInt();
      case INT16 -> (short) rnd.nextInt();
      case INT32 -> rnd.nextInt();
      case INT64 -> rnd.nextInt(4) == 0 ? Long.MIN_VALUE : rnd.nextLong();
      case FLOAT32 -> new float[] {Float.NaN, Float.POSITIVE_INFINITY, -0.0f, 1e-45f, Float.MAX_VALUE, rnd.nextFloat() * 1e6f}[rnd.nextInt(6)];
      case FLOAT64 -> new double[] {Double.NaN, Double.NEGATIVE_INFINITY, -0.0, 4.9e-324, 1e21, 0.1 + 0.2, rnd.nextGaussian() * 1e12}[rnd.nextInt(7)];
      case BOOLEAN -> rnd.nextBoolean();
      case BYTES -> rnd.nextBoolean() ? bytes() : ByteBuffer.wrap(bytes());
      case ARRAY -> {
        List<Object> l = new ArrayList<>();
        for (int i = rnd.nextInt(4); i > 0; i--) l.add(value(s.valueSchema()));
        yield l;
      }
      case MAP -> {
        Map<Object, Object> m = new LinkedHashMap<>();
        for (int i = rnd.nextInt(3); i > 0; i--) m.put(value(s.keySchema()), value(s.valueSchema()));
        yield m;
      }
      case STRUCT -> {
        Struct st = new Struct(s);
        for (var f : s.fields()) st.put(f, value(f.schema()));
        yield st;
      }
    };
  }

  static byte[] bytes() {
    byte[] b = new byte[rnd.nextInt(9)];
    rnd.nextBytes(b);
    return b;
  }

  /** A row of every type (optional and not), arrays, a map, logical types, a default, nested. */
  static Schema row(String name) {
    SchemaBuilder b = SchemaBuilder.struct().name(name).optional();
    int i = 0;
    for (Schema.Type t : new Schema.Type[] {Schema.Type.STRING, Schema.Type.INT8, Schema.Type.INT16, Schema.Type.INT32, Schema.Type.INT64,
        Schema.Type.FLOAT32, Schema.Type.FLOAT64, Schema.Type.BOOLEAN, Schema.Type.BYTES}) {
      b.field("c" + i++, field(t, false));
      b.field("c" + i++, field(t, true));
    }
    b.field("named", SchemaBuilder.int64().name("io.debezium.time.MicroTimestamp").version(1).optional().build());
    b.field("dec", Decimal.builder(3).optional().build());
    b.field("date", Date.builder().optional().build());
    b.field("time", Time.builder().build());
    b.field("ts", Timestamp.builder().optional().build());
    b.field("arr", SchemaBuilder.array(SchemaBuilder.string().optional().build()).optional().build());
    b.field("arr2", SchemaBuilder.array(SchemaBuilder.int32().build()).build());
    b.field("map", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.OPTIONAL_INT32_SCHEMA).optional().build());
    b.field("map2", SchemaBuilder.map(Schema.INT32_SCHEMA, Schema.STRING_SCHEMA).optional().build());
    b.field("withdefault", SchemaBuilder.string().optional().defaultValue("dflt").build());
    b.field("inner", SchemaBuilder.struct().name("inner").optional().field("x", Schema.OPTIONAL_STRING_SCHEMA).build());
    return b.build();
  }

  public static void main(String[] args) {
    int records = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    JsonConverter ref = new JsonConverter();
    JsonConverter fb = new JsonConverter();
    Map<String, Object> conf = new HashMap<>();
    conf.put("converter.type", "value");
    conf.put("schemas.enable", false);
    conf.put("replace.null.with.default", false);
    ref.configure(conf);
    fb.configure(conf);
    SchemalessJsonWriter w = new SchemalessJsonWriter(fb);
    Schema r = row("db.s.t.Value");
    Schema envelope = SchemaBuilder.struct().name("db.s.t.Envelope")
        .field("before", r).field("after", r)
        .field("source", SchemaBuilder.struct().name("source").field("lsn", Schema.OPTIONAL_INT64_SCHEMA).field("db", Schema.STRING_SCHEMA).build())
        .field("op", Schema.STRING_SCHEMA).field("ts_ms", Schema.OPTIONAL_INT64_SCHEMA).build();
    int same = 0, bothFail = 0;
    for (int i = 0; i < records; i++) {
      Struct v = (Struct) value(envelope);
      byte[] a = null, b = null;
      String ea = null, eb = null;
      try { a = ref.fromConnectData("t", envelope, v); } catch (RuntimeException e) { ea = e.getClass().getName() + ": " + e.getMessage(); }
      try { b = w.write("t", envelope, v); } catch (RuntimeException e) { eb = e.getClass().getName() + ": " + e.getMessage(); }
      if (ea != null || eb != null) {
        if (ea == null || !ea.equals(eb)) throw new AssertionError("record " + i + ": " + ea + " vs " + eb);
        bothFail++;
      } else if (!Arrays.equals(a, b)) {
        throw new AssertionError("record " + i + " differs:\n" + new String(a) + "\n" + new String(b));
      } else same++;
    }
    // Top level: null, a tombstone, a non-struct, a struct whose Java schema differs.
    check(ref, w, null, null);
    check(ref, w, envelope, null);
    check(ref, w, Schema.STRING_SCHEMA, "k\u0000");
    check(ref, w, Schema.INT64_SCHEMA, 5L);
    System.out.println("WriterCheck: " + same + " records identical, " + bothFail + " failing the same way; 4 edge cases the same");
  }

  static void check(JsonConverter ref, SchemalessJsonWriter w, Schema s, Object v) {
    String a, b;
    try { a = Arrays.toString(ref.fromConnectData("t", s, v)); } catch (RuntimeException e) { a = e.toString(); }
    try { b = Arrays.toString(w.write("t", s, v)); } catch (RuntimeException e) { b = e.toString(); }
    if (!a.equals(b)) throw new AssertionError("edge case differs: " + s + " " + v + ": " + a + " vs " + b);
  }
}
