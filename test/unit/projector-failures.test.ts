import { describe, expect, it } from "vitest";
import {
  classifyFailure,
  clickHouseCode,
  DeterministicFailure,
  isDataError,
  isMissingObject,
} from "../../src/projector/failures.js";
import { ProjectionConflict } from "../../src/projector/sink.js";

/** An error as @clickhouse/client raises it over HTTP: the code as a string. */
const httpError = (code: string, message = `ClickHouse error ${code}`) => Object.assign(new Error(message), { code });
/** As chDB raises it: a numeric clickhouseCode. */
const chdbError = (code: number, message = `chDB error ${code}`) =>
  Object.assign(new Error(message), { clickhouseCode: code });

describe("clickHouseCode", () => {
  it("reads `code` (HTTP) and `clickhouseCode` (chDB), numbers as strings", () => {
    expect(clickHouseCode(httpError("252"))).toBe("252");
    expect(clickHouseCode(chdbError(60))).toBe("60");
    expect(clickHouseCode(Object.assign(new Error("x"), { code: 27 }))).toBe("27");
  });

  it("ignores codes that are not ClickHouse numbers (Node's ECONNREFUSED) and falls back to clickhouseCode", () => {
    expect(clickHouseCode(httpError("ECONNREFUSED"))).toBeUndefined();
    expect(clickHouseCode(Object.assign(new Error("x"), { code: "ECONNRESET", clickhouseCode: 209 }))).toBe("209");
    expect(clickHouseCode(new Error("plain"))).toBeUndefined();
    expect(clickHouseCode(null)).toBeUndefined();
    expect(clickHouseCode(undefined)).toBeUndefined();
  });

  it("follows `cause` two levels down, not three", () => {
    const inner = chdbError(62);
    expect(clickHouseCode(new Error("outer", { cause: inner }))).toBe("62");
    expect(clickHouseCode(new Error("outer", { cause: new Error("middle", { cause: inner }) }))).toBe("62");
    const tooDeep = new Error("a", { cause: new Error("b", { cause: new Error("c", { cause: inner }) }) });
    expect(clickHouseCode(tooDeep)).toBeUndefined();
  });

  it("takes the outermost code when several levels have one", () => {
    expect(clickHouseCode(Object.assign(new Error("outer", { cause: chdbError(62) }), { code: "252" }))).toBe("252");
  });
});

describe("classifyFailure", () => {
  it("ClickHouse codes that go away by waiting are transient", () => {
    for (const code of ["3", "159", "164", "202", "209", "210", "241", "242", "243", "252", "319", "999", "1000"])
      expect(classifyFailure(httpError(code)), code).toBe("transient");
    expect(classifyFailure(chdbError(252))).toBe("transient");
  });

  it("a full disk is transient: chDB's insert error, and a disk error under any code", () => {
    // As chDB's rawInsert raises it (its cause carries the code as "CHDB_QUERY").
    const chdbFull = chdbError(
      243,
      "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)",
    );
    expect(classifyFailure(chdbFull)).toBe("transient");
    expect(classifyFailure(new Error("wrapped", { cause: chdbFull }))).toBe("transient");
    const writeFailed =
      "Cannot write to file /data/store/tmp_insert_all_1_1_0/data.bin, errno: 28, strerror: No space left on device";
    expect(classifyFailure(httpError("75", writeFailed))).toBe("transient");
    expect(classifyFailure(chdbError(1001, "filesystem error: in create_directories: Disk quota exceeded"))).toBe(
      "transient",
    );
    expect(classifyFailure(httpError("1001", "Cannot open file metadata/shop.sql.tmp: Read-only file system"))).toBe(
      "transient",
    );
    expect(isDataError(chdbFull)).toBe(false);
  });

  it("any other ClickHouse code is deterministic (the statement or the data is wrong)", () => {
    for (const code of ["27", "47", "60", "62", "117", "6"])
      expect(classifyFailure(httpError(code)), code).toBe("deterministic");
    // A code on the cause counts too: the wrapper does not make it transient.
    expect(classifyFailure(new Error("wrapped", { cause: chdbError(62) }))).toBe("deterministic");
  });

  it("programming and conversion errors, projection conflicts and non-retriable errors are deterministic", () => {
    expect(classifyFailure(new TypeError("x is undefined"))).toBe("deterministic");
    expect(classifyFailure(new RangeError("Invalid time value"))).toBe("deterministic");
    expect(classifyFailure(new SyntaxError("Unexpected token"))).toBe("deterministic");
    expect(classifyFailure(new ProjectionConflict("key changed type"))).toBe("deterministic");
    expect(classifyFailure(Object.assign(new Error("kafka says no"), { retriable: false }))).toBe("deterministic");
  });

  it("anything else without a ClickHouse code (sockets, Kafka, time-outs) is transient", () => {
    expect(classifyFailure(httpError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:8123"))).toBe("transient");
    expect(classifyFailure(new Error("Request timed out"))).toBe("transient");
    expect(classifyFailure(Object.assign(new Error("leader not available"), { retriable: true }))).toBe("transient");
    expect(classifyFailure("a string")).toBe("transient");
    expect(classifyFailure(null)).toBe("transient");
  });
});

describe("isMissingObject", () => {
  it("true for a missing table, database or column (16, 47, 60, 81), over HTTP, chDB or a cause", () => {
    for (const code of ["16", "47", "60", "81"]) expect(isMissingObject(httpError(code)), code).toBe(true);
    expect(isMissingObject(chdbError(60))).toBe(true);
    expect(isMissingObject(new Error("wrapped", { cause: chdbError(47) }))).toBe(true);
  });

  it("true for an insert naming a column the table lacks, whatever its code", () => {
    expect(isMissingObject(httpError("117", "Unknown field found while parsing JSONEachRow format: note"))).toBe(true);
    expect(isMissingObject(new Error("Unknown field found while parsing JSONEachRow format: note"))).toBe(true);
  });

  it("false for other failures", () => {
    expect(isMissingObject(httpError("62"))).toBe(false);
    expect(isMissingObject(httpError("27", "Cannot parse input"))).toBe(false);
    expect(isMissingObject(new Error("socket hang up"))).toBe(false);
    expect(isMissingObject(null)).toBe(false);
  });
});

describe("isDataError", () => {
  it("true for ClickHouse codes about the data (parse, type, range)", () => {
    for (const code of ["6", "26", "27", "38", "41", "53", "69", "70", "72", "117", "131", "321", "407"])
      expect(isDataError(httpError(code, "refused")), code).toBe(true);
    expect(isDataError(chdbError(27, "refused"))).toBe(true);
  });

  it("true for a message about the data, even without a code", () => {
    expect(isDataError(new Error("Cannot parse input: expected '\"' before: 'x'"))).toBe(true);
    expect(isDataError(new Error("Code: 53. Type mismatch in IN or VALUES section"))).toBe(true);
    expect(isDataError(new Error("Decimal value is OUT OF RANGE"))).toBe(true);
    expect(isDataError(new Error("INCORRECT_DATA: bad row"))).toBe(true);
  });

  it("false for a missing object (that is healed, not split), even with a data code or message", () => {
    expect(isDataError(httpError("117", "Unknown field found while parsing JSONEachRow format: note"))).toBe(false);
    expect(isDataError(httpError("60", "Cannot parse: table default.t does not exist"))).toBe(false);
  });

  it("false for failures about the statement or the infrastructure", () => {
    expect(isDataError(httpError("62", "Syntax error: failed at position 1"))).toBe(false);
    expect(isDataError(httpError("252", "Too many parts"))).toBe(false);
    expect(isDataError(new Error("socket hang up"))).toBe(false);
  });

  it("a code that is not about the data decides over a message that sounds like it", () => {
    expect(isDataError(httpError("62", "Syntax error: Cannot parse expression of type String"))).toBe(false);
    expect(isDataError(chdbError(241, "Memory limit exceeded while parsing: out of range of the buffer"))).toBe(false);
    expect(isDataError(new Error("Code: 241. Memory limit: Cannot parse more"))).toBe(false);
  });
});

describe("DeterministicFailure", () => {
  it("keeps the stage, cause and attempts; its message names them with the cause's first line", () => {
    const cause = httpError("62", "Syntax error: failed at position 1\nStack trace:\n0. DB::Exception");
    const f = new DeterministicFailure("insert", cause, 3);
    expect(f).toBeInstanceOf(Error);
    expect(f.name).toBe("DeterministicFailure");
    expect(f.stage).toBe("insert");
    expect(f.cause).toBe(cause);
    expect(f.attempts).toBe(3);
    expect(f.message).toBe("insert failed 3 time(s) the same way: Syntax error: failed at position 1");
  });

  it("cuts a long first line at 400 characters", () => {
    const f = new DeterministicFailure("schema", new Error("x".repeat(1000)), 1);
    expect(f.message).toBe(`schema failed 1 time(s) the same way: ${"x".repeat(400)}`);
  });
});
