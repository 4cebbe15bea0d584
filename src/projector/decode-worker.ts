import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { KafkaMessage } from "kafkajs";
import type { Logger } from "../shared/logger.js";
import { BatchDecoder, type DecodedBatch, type NamedSchemas } from "./batch-decode.js";
import { KEY_SCHEMA_HEADER, VALUE_SCHEMA_HEADER } from "./schema-topic.js";

/**
 * Batch decoding in a worker thread. Parsing envelopes, converting values and serialising rows
 * is most of the projector's JavaScript work; in its own thread it overlaps with kafkajs
 * fetching the next batch and with the insert of the previous one on the main thread (which
 * owns ClickHouse: embedded chDB lives in one thread, shared with the read API).
 *
 * A batch crosses as one transferred buffer (values and keys back to back, with an index),
 * never as many small clones.
 */

const ROLE = "cqrs-sidecar/batch-decode";

interface Request {
  id: number;
  bytes: ArrayBuffer;
  /** Per message: value start, value length (-1: null), key start, key length (-1: null). */
  index: Int32Array;
  /** Schema ids from the messages' headers and their texts, when the messages carry ids. */
  named?: NamedSchemas;
}

/** Each reply carries the worker's heap use: process.memoryUsage() in the main thread does not see it. */
type Reply = ({ batch: DecodedBatch } | { error: string }) & { id: number; heapUsed: number };

if (!isMainThread && workerData?.role === ROLE && parentPort) {
  const port = parentPort;
  const decoder = new BatchDecoder();
  port.on("message", (req: Request) => {
    const buf = Buffer.from(req.bytes);
    const n = req.index.length / 4;
    const values: (Buffer | null)[] = new Array(n);
    const keys: (Buffer | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const ix = req.index;
      const vs = ix[i * 4] as number;
      const vl = ix[i * 4 + 1] as number;
      const ks = ix[i * 4 + 2] as number;
      const kl = ix[i * 4 + 3] as number;
      values[i] = vl < 0 ? null : buf.subarray(vs, vs + vl);
      keys[i] = kl < 0 ? null : buf.subarray(ks, ks + kl);
    }
    let reply: Reply;
    try {
      reply = { id: req.id, batch: decoder.decode(values, keys, req.named), heapUsed: process.memoryUsage().heapUsed };
    } catch (err) {
      reply = { id: req.id, error: (err as Error).stack ?? String(err), heapUsed: process.memoryUsage().heapUsed };
    }
    port.postMessage(reply);
  });
}

/** Packs the messages' values and keys into one transferable buffer. */
export function packMessages(messages: readonly Pick<KafkaMessage, "value" | "key">[]): Omit<Request, "id"> {
  let total = 0;
  for (const m of messages) total += (m.value?.length ?? 0) + (m.key?.length ?? 0);
  const bytes = Buffer.allocUnsafeSlow(total); // its own ArrayBuffer: transferred, not copied
  const index = new Int32Array(messages.length * 4);
  let at = 0;
  messages.forEach((m, i) => {
    for (const [slot, b] of [
      [0, m.value],
      [2, m.key],
    ] as const) {
      if (!b) {
        index[i * 4 + slot] = at;
        index[i * 4 + slot + 1] = -1;
        continue;
      }
      b.copy(bytes, at);
      index[i * 4 + slot] = at;
      index[i * 4 + slot + 1] = b.length;
      at += b.length;
    }
  });
  return { bytes: bytes.buffer as ArrayBuffer, index };
}

function headerText(v: Buffer | string | (Buffer | string)[] | undefined): string | null {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? null : one.toString();
}

/** The schema ids the messages name (none: undefined, the inline-schema path) and their texts. */
async function namedSchemas(
  messages: readonly Pick<KafkaMessage, "headers">[],
  lookup: (ids: Set<string>) => Promise<Map<string, string>>,
): Promise<NamedSchemas | undefined> {
  const valueIds = messages.map((m) => headerText(m.headers?.[VALUE_SCHEMA_HEADER]));
  const keyIds = messages.map((m) => headerText(m.headers?.[KEY_SCHEMA_HEADER]));
  const ids = new Set<string>();
  for (const id of [...valueIds, ...keyIds]) if (id) ids.add(id);
  if (ids.size === 0) return undefined;
  return { valueIds, keyIds, texts: Object.fromEntries(await lookup(ids)) };
}

/** The projector's handle on its decode thread; a thread that dies is replaced on the next batch. */
export class DecodeWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (b: DecodedBatch) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly log: Logger,
    private readonly onHeap?: (bytes: number) => void,
  ) {}

  private spawn(): Worker {
    const self = fileURLToPath(import.meta.url);
    // Run from TypeScript sources (tsx, vitest), the worker registers tsx's loader before loading this file.
    const worker =
      extname(self) === ".ts"
        ? new Worker(
            `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`,
            { eval: true, workerData: { role: ROLE } },
          )
        : new Worker(self, { workerData: { role: ROLE } });
    worker.unref();
    worker.on("message", (reply: Reply) => {
      this.onHeap?.(reply.heapUsed);
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if ("error" in reply) p.reject(new Error(`batch decode failed: ${reply.error}`));
      else p.resolve(reply.batch);
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.log.error({ err: err.message }, "decode worker stopped; a new one starts with the next batch");
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`decode worker exited with code ${code}`)));
    return worker;
  }

  /**
   * Decodes a batch in the thread. Messages that name their schemas by id (headers) get the
   * schemas' texts from `lookup` first.
   */
  async decode(
    messages: readonly Pick<KafkaMessage, "value" | "key" | "headers">[],
    lookup?: (ids: Set<string>) => Promise<Map<string, string>>,
  ): Promise<DecodedBatch> {
    const named = lookup ? await namedSchemas(messages, lookup) : undefined;
    this.worker ??= this.spawn();
    const worker = this.worker;
    const id = this.nextId++;
    const { bytes, index } = packMessages(messages);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, bytes, index, named } satisfies Request, [bytes, index.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new Error("decode worker closed"));
    this.pending.clear();
    await w?.terminate();
  }
}
