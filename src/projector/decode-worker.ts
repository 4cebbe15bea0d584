import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { KafkaMessage } from "kafkajs";
import type { Logger } from "../shared/logger.js";
import { BatchDecoder, type DecodedBatch, type NamedSchemas } from "./batch-decode.js";
import { KEY_SCHEMA_HEADER, VALUE_SCHEMA_HEADER } from "./schema-topic.js";
import { bundledWorker } from "./worker-bundle.js";

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
  /**
   * Per message: value start, value length (-1: null), key start, key length (-1: null), and the
   * value's and key's schema ids as positions in `ids` (-1: none).
   */
  index: Int32Array;
  /** The schema ids the messages name, each once, and their texts; absent when no message names one. */
  ids?: { ids: string[]; texts: Record<string, string> };
}
/** Each reply carries the worker's heap use: process.memoryUsage() in the main thread does not see it. */
type Reply = ({ batch: DecodedBatch } | { error: string }) & { id: number; heapUsed: number };

if (!isMainThread && workerData?.role === ROLE && parentPort) {
  const port = parentPort;
  const decoder = new BatchDecoder();
  port.on("message", (req: Request) => {
    let reply: Reply;
    let transfer: ArrayBuffer[] = [];
    try {
      const { values, keys, named } = unpackMessages(req);
      const batch = decoder.decode(values, keys, named);
      // The rows' bytes move to the main thread; nothing here keeps a view of them.
      transfer = batch.tables.flatMap((t) => [t.lines.body.buffer, t.lines.indexes.buffer] as ArrayBuffer[]);
      reply = { id: req.id, batch, heapUsed: process.memoryUsage().heapUsed };
    } catch (err) {
      reply = { id: req.id, error: (err as Error).stack ?? String(err), heapUsed: process.memoryUsage().heapUsed };
    }
    port.postMessage(reply, transfer);
  });
}

/** The worker's side of packMessages: the messages' values and keys as views of the one buffer. */
export function unpackMessages(req: Omit<Request, "id">): {
  values: (Buffer | null)[];
  keys: (Buffer | null)[];
  named: NamedSchemas | undefined;
} {
  const buf = Buffer.from(req.bytes);
  const ix = req.index;
  const n = ix.length / SLOTS;
  const values: (Buffer | null)[] = new Array(n);
  const keys: (Buffer | null)[] = new Array(n);
  const ids = req.ids;
  const valueIds: (string | null)[] | undefined = ids ? new Array(n) : undefined;
  const keyIds: (string | null)[] | undefined = ids ? new Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const at = i * SLOTS;
    const vs = ix[at] as number;
    const vl = ix[at + 1] as number;
    const ks = ix[at + 2] as number;
    const kl = ix[at + 3] as number;
    values[i] = vl < 0 ? null : buf.subarray(vs, vs + vl);
    keys[i] = kl < 0 ? null : buf.subarray(ks, ks + kl);
    if (ids && valueIds && keyIds) {
      const v = ix[at + 4] as number;
      const k = ix[at + 5] as number;
      valueIds[i] = v < 0 ? null : (ids.ids[v] as string);
      keyIds[i] = k < 0 ? null : (ids.ids[k] as string);
    }
  }
  const named = ids && valueIds && keyIds ? { valueIds, keyIds, texts: ids.texts } : undefined;
  return { values, keys, named };
}

/** Int32 slots per message in a request's index. */
const SLOTS = 6;

type Header = Buffer | string | (Buffer | string)[] | undefined;

/**
 * Packs the messages' values and keys into one transferable buffer, with the schema ids their
 * headers name (each distinct id once: a batch names one or two, repeated in every message).
 */
export function packMessages(
  messages: readonly Pick<KafkaMessage, "value" | "key" | "headers">[],
): Omit<Request, "id" | "ids"> & { ids: string[] } {
  let total = 0;
  for (const m of messages) total += (m.value?.length ?? 0) + (m.key?.length ?? 0);
  const bytes = Buffer.allocUnsafeSlow(total); // its own ArrayBuffer: transferred, not copied
  const index = new Int32Array(messages.length * SLOTS);
  const ids = new SchemaIds();
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Pick<KafkaMessage, "value" | "key" | "headers">;
    const o = i * SLOTS;
    const v = m.value;
    index[o] = at;
    if (v) {
      v.copy(bytes, at);
      index[o + 1] = v.length;
      at += v.length;
    } else index[o + 1] = -1;
    const k = m.key;
    index[o + 2] = at;
    if (k) {
      k.copy(bytes, at);
      index[o + 3] = k.length;
      at += k.length;
    } else index[o + 3] = -1;
    const h = m.headers;
    index[o + 4] = h ? ids.of(h[VALUE_SCHEMA_HEADER], 0) : -1;
    index[o + 5] = h ? ids.of(h[KEY_SCHEMA_HEADER], 1) : -1;
  }
  return { bytes: bytes.buffer as ArrayBuffer, index, ids: ids.list };
}

/** Byte equality of two short buffers (schema ids): a loop costs less than a call into Buffer.equals. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Distinct schema ids of a batch's headers; a header equal to the previous one of its kind costs no string. */
class SchemaIds {
  readonly list: string[] = [];
  private readonly at = new Map<string, number>();
  private readonly last: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];
  private readonly lastAt: [number, number] = [-1, -1];

  /** Position of the header's id in `list` (-1: no header); kind 0: value, 1: key. */
  of(header: Header, kind: 0 | 1): number {
    const one = Array.isArray(header) ? header[0] : header;
    if (one === undefined) return -1;
    if (typeof one !== "string") {
      const last = this.last[kind];
      if (last !== undefined && sameBytes(last, one)) return this.lastAt[kind];
    }
    const id = one.toString();
    let pos = this.at.get(id);
    if (pos === undefined) {
      pos = this.list.length;
      this.list.push(id);
      this.at.set(id, pos);
    }
    if (typeof one !== "string") {
      this.last[kind] = one;
      this.lastAt[kind] = pos;
    }
    return pos;
  }
}

/** The projector's handle on its decode thread; a thread that dies is replaced on the next batch. */
export class DecodeWorker {
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (b: DecodedBatch) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly log: Logger,
    private readonly onHeap?: (bytes: number) => void,
  ) {}

  private start(): Promise<Worker> {
    this.starting ??= this.spawn().then(
      (w) => {
        this.worker = w;
        return w;
      },
      (err) => {
        this.starting = undefined;
        throw err;
      },
    );
    return this.starting;
  }

  private async spawn(): Promise<Worker> {
    const self = fileURLToPath(import.meta.url);
    // From TypeScript sources (tsx, vitest) the thread runs this module bundled (worker-bundle.ts);
    // either way it needs none of the process's loader flags (`--import tsx`).
    const file = extname(self) === ".ts" ? await bundledWorker(self) : self;
    const worker = new Worker(file, { workerData: { role: ROLE }, execArgv: [] });
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
      this.starting = undefined;
      this.log.error({ err: err.message }, "decode worker stopped; a new one starts with the next batch");
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`decode worker exited with code ${code}`)));
    return worker;
  }

  /** Starts the thread now (bundling and loading take a while), so the first batch does not wait for it. */
  warm(): void {
    this.start().catch((err) =>
      this.log.warn({ err: (err as Error).message }, "decode worker did not start; retried with the first batch"),
    );
  }

  /**
   * Decodes a batch in the thread. Messages that name their schemas by id (headers) get the
   * schemas' texts from `lookup` first.
   */
  async decode(
    messages: readonly Pick<KafkaMessage, "value" | "key" | "headers">[],
    lookup?: (ids: Set<string>) => Promise<Map<string, string>>,
  ): Promise<DecodedBatch> {
    const { bytes, index, ids } = packMessages(messages);
    // Messages naming schemas by id (none: the inline-schema path) get the schemas' texts first.
    const wanted = new Set(ids.filter((i) => i !== ""));
    const named = lookup && wanted.size > 0 ? { ids, texts: Object.fromEntries(await lookup(wanted)) } : undefined;
    const worker = await this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, bytes, index, ids: named } satisfies Request, [bytes, index.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    const w = this.worker ?? (await this.starting?.catch(() => undefined));
    this.worker = undefined;
    this.starting = undefined;
    for (const p of this.pending.values()) p.reject(new Error("decode worker closed"));
    this.pending.clear();
    await w?.terminate();
  }
}
