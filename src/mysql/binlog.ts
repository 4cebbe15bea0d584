import type { Admin } from "kafkajs";
import { ConnectClient } from "../connect/connect-client.js";
import { beatSql } from "./connector.js";
import type { MysqlPool } from "./source.js";
import { rowsOf } from "./source.js";

/** A place in a server's binary log. */
export interface BinlogPosition {
  file: string;
  pos: number;
}

const fileNo = (file: string) => Number(/\.(\d+)$/.exec(file)?.[1] ?? -1);

export function compareBinlog(a: BinlogPosition, b: BinlogPosition): number {
  return fileNo(a.file) - fileNo(b.file) || a.pos - b.pos;
}

export const formatBinlog = (p: BinlogPosition) => `${p.file}:${p.pos}`;

/** Where the server writes next (SHOW MASTER STATUS; MySQL 8.4 renamed it SHOW BINARY LOG STATUS). */
export async function currentBinlog(pool: MysqlPool): Promise<BinlogPosition> {
  let rows: Record<string, unknown>[];
  try {
    rows = await rowsOf(pool, "SHOW MASTER STATUS");
  } catch {
    rows = await rowsOf(pool, "SHOW BINARY LOG STATUS");
  }
  const r = rows[0];
  if (!r) throw new Error("the server's binary log is off (SHOW MASTER STATUS is empty)");
  return { file: String(r.File), pos: Number(r.Position) };
}

/** Bytes of binary log from `from` to the server's current position (the connector's lag). */
export async function binlogBytesBehind(pool: MysqlPool, from: BinlogPosition): Promise<number> {
  const now = await currentBinlog(pool);
  if (compareBinlog(from, now) >= 0) return 0;
  const logs = await rowsOf<{ Log_name: string; File_size: string }>(pool, "SHOW BINARY LOGS");
  let bytes = 0;
  for (const l of logs) {
    const n = fileNo(l.Log_name);
    if (n < fileNo(from.file) || n > fileNo(now.file)) continue;
    const start = n === fileNo(from.file) ? from.pos : 0;
    const end = n === fileNo(now.file) ? now.pos : Number(l.File_size);
    bytes += Math.max(0, end - start);
  }
  return bytes;
}

/** The binlog position the connector has committed as its offset (GET /connectors/<name>/offsets). */
export async function connectorBinlog(connectUrl: string, connector: string): Promise<BinlogPosition | undefined> {
  const entries = await new ConnectClient(connectUrl).offsets(connector).catch(() => []);
  const o = entries[0]?.offset as { file?: string; pos?: number } | undefined;
  return o?.file && typeof o.pos === "number" ? { file: o.file, pos: o.pos } : undefined;
}

/** One event into the binary log (the sidecar's own helper table, created by attach). */
export async function beat(pool: MysqlPool, connector: string): Promise<void> {
  await pool.query(beatSql(connector));
}

/** Ids of the server's threads sending a binary log to a reader (a replica or a Debezium connector). */
export async function binlogReaders(pool: MysqlPool): Promise<number[]> {
  const rows = await rowsOf<{ id: string }>(
    pool,
    "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'",
  );
  return rows.map((r) => Number(r.id));
}

/** Everything Debezium put on these topics is committed by the projector's group. */
export async function projectedToEnd(admin: Admin, groupId: string, topics: string[]): Promise<boolean> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  if (!present.length) return true;
  const committed = await admin.fetchOffsets({ groupId, topics: present });
  for (const t of committed) {
    const ends = await admin.fetchTopicOffsets(t.topic);
    for (const e of ends) {
      const c = t.partitions.find((p) => p.partition === e.partition);
      const at = c ? Number(c.offset) : -1;
      if (Number(e.high) > 0 && at < Number(e.high)) return false;
    }
  }
  return true;
}

/**
 * Waits until the projection holds every change up to the server's current binlog position: the
 * connector's committed offset has passed it (heartbeats move it when the tables are idle), then
 * the projector's group has committed everything on the tables' topics.
 */
export async function waitForBinlog(
  deps: { pool: MysqlPool; connect: ConnectClient; connectUrl: string; admin: Admin; groupId: string },
  connector: string,
  topics: string[],
  waitMs: number,
): Promise<{ position: string; reached: boolean }> {
  const target = await currentBinlog(deps.pool);
  const deadline = Date.now() + waitMs;
  const sleep = () => new Promise((r) => setTimeout(r, 250));
  let beatAt = 0;
  for (;;) {
    const at = await connectorBinlog(deps.connectUrl, connector);
    if (at && compareBinlog(at, target) >= 0) break;
    if (Date.now() > deadline) return { position: formatBinlog(target), reached: false };
    // Debezium commits its position with a heartbeat, and beats only when an event arrives.
    if (Date.now() - beatAt > 1_500) {
      await beat(deps.pool, connector);
      beatAt = Date.now();
    }
    await sleep();
  }
  while (!(await projectedToEnd(deps.admin, deps.groupId, topics))) {
    if (Date.now() > deadline) return { position: formatBinlog(target), reached: false };
    await sleep();
  }
  return { position: formatBinlog(target), reached: true };
}
