import { describe, expect, it } from "vitest";
import { ConnectOffsets, parseOffsetRecord, parseRestOffset } from "../../src/projector/connect-offsets.js";
import { createLogger } from "../../src/shared/logger.js";

const key = (connector: string, server: string) => Buffer.from(JSON.stringify([connector, { server }]));
const value = (lsnProc: number, ts: number) =>
  Buffer.from(JSON.stringify({ lsn_proc: lsnProc, lsn_commit: lsnProc - 56, lsn: lsnProc, txId: 9, ts_usec: ts }));

describe("Kafka Connect source offsets", () => {
  it("parses Debezium's Postgres offset: lsn_proc and the commit time", () => {
    expect(parseOffsetRecord(key("shop", "sidecar"), value(31069912, 1795723480809833))).toEqual({
      connector: "shop",
      server: "sidecar",
      position: { lsn: 31069912n, commitTsUs: 1795723480809833n },
    });
    expect(parseOffsetRecord(key("shop", "sidecar"), null)?.position).toBeNull();
    expect(parseOffsetRecord(Buffer.from("not json"), value(1, 1))).toBeUndefined();
    expect(parseOffsetRecord(Buffer.from('["x"]'), value(1, 1))).toBeUndefined();
    expect(parseOffsetRecord(key("shop", "sidecar"), Buffer.from('{"snapshot":true}'))).toBeUndefined();
  });

  it("reads the same positions from Connect's REST answer (GET /connectors/<name>/offsets)", () => {
    const offset = { lsn_proc: 2628852400, lsn: 2628852400, txId: 117911, ts_usec: 1796621650988057 };
    expect(parseRestOffset("shop", { partition: { server: "sidecar" }, offset })).toEqual({
      connector: "shop",
      server: "sidecar",
      position: { lsn: 2628852400n, commitTsUs: 1796621650988057n },
    });
    const binlog = { file: "mariadb-bin.000005", pos: 110504, row: 1, event: 2 };
    expect(parseRestOffset("erp", { partition: { server: "sidecar" }, offset: binlog })?.position).toHaveProperty(
      "binlog",
    );
    // A sink connector's offsets name a Kafka partition, not a server.
    expect(parseRestOffset("sink", { partition: { kafka_topic: "t" } as never, offset: { kafka_offset: 3 } })).toBe(
      undefined,
    );
    expect(parseRestOffset("shop", { partition: { server: "sidecar" }, offset: null })).toBeUndefined();
  });

  it("follows the lowest connector of its topic prefix; deleted offsets drop out", () => {
    const o = new ConnectOffsets(
      {} as never,
      { topic: "_connect_offsets", server: "sidecar", groupId: "g" },
      createLogger("silent"),
    );
    expect(o.current()).toBeUndefined();
    o.apply(parseOffsetRecord(key("shop", "sidecar"), value(500, 1)));
    o.apply(parseOffsetRecord(key("attach_crm", "sidecar"), value(300, 2)));
    o.apply(parseOffsetRecord(key("other", "elsewhere"), value(100, 3)));
    expect(o.current()).toEqual({ lsn: 300n, commitTsUs: 2n });
    o.apply(parseOffsetRecord(key("attach_crm", "sidecar"), value(900, 4)));
    expect(o.current()).toEqual({ lsn: 500n, commitTsUs: 1n });
    o.apply(parseOffsetRecord(key("shop", "sidecar"), null));
    expect(o.current()).toEqual({ lsn: 900n, commitTsUs: 4n });
  });

  it("calls onAdvance for each record of its own server only", () => {
    let calls = 0;
    const o = new ConnectOffsets(
      {} as never,
      { topic: "_connect_offsets", server: "sidecar", groupId: "g", onAdvance: () => calls++ },
      createLogger("silent"),
    );
    o.apply(parseOffsetRecord(key("shop", "sidecar"), value(500, 1)));
    o.apply(parseOffsetRecord(key("other", "elsewhere"), value(600, 1)));
    o.apply(parseOffsetRecord(Buffer.from("not json"), value(700, 1)));
    expect(calls).toBe(1);
  });
});
