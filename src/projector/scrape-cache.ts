/**
 * One read shared by everything that asks within `maxAgeMs` of it: the gauges of one scrape each
 * call it in their `collect`, and the pipeline is asked once (a failure is shared the same way).
 * A read still running is never started twice, and a caller waits at most `deadlineMs` for it:
 * a scrape answers in time even when a part of the pipeline hangs.
 */
export function sharedRead<T>(
  read: () => Promise<T>,
  opts: { maxAgeMs: number; deadlineMs: number; now?: () => number },
): () => Promise<T> {
  const now = opts.now ?? (() => Date.now());
  let last: { at: number; value: Promise<T>; settled: boolean } | undefined;
  return () => {
    const t = now();
    if (!last || (last.settled && t - last.at >= opts.maxAgeMs)) {
      const entry = { at: t, value: read(), settled: false };
      const settle = () => {
        entry.settled = true;
      };
      entry.value.then(settle, settle);
      last = entry;
    }
    return withDeadline(last.value, opts.deadlineMs);
  };
}

function withDeadline<T>(value: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([value, late]).finally(() => clearTimeout(timer));
}
