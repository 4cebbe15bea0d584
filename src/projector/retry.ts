import type { Logger } from "../shared/logger.js";
import { classifyFailure, DeterministicFailure } from "./failures.js";

/** Thrown when the work is no longer wanted (stopping, rebalanced away): never retried. */
export class Abandoned extends Error {}

export interface RetryOptions {
  /** False once the work is no longer wanted: the retry loop throws Abandoned. */
  alive: () => boolean;
  /** Keeps the consumer's group membership while waiting. */
  beat?: () => Promise<void>;
  /**
   * Attempts a deterministic failure gets before DeterministicFailure is thrown; transient failures
   * are retried for as long as `alive()` holds. Infinity: every failure is retried (for steps that
   * have nothing to set aside, such as committing an offset).
   */
  deterministicAttempts: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries with exponential backoff (100 ms doubling to maxBackoffMs), logging the 1st and every 10th attempt. */
export class Retrier {
  constructor(
    private readonly log: Logger,
    private readonly maxBackoffMs: number,
    private readonly onRetry: (stage: string) => void = () => undefined,
  ) {}

  async run<T>(stage: string, fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
    let delay = 100;
    let deterministic = 0;
    for (let attempt = 1; ; attempt++) {
      if (!opts.alive()) throw new Abandoned(stage);
      try {
        return await fn();
      } catch (err) {
        if (err instanceof Abandoned || err instanceof DeterministicFailure) throw err;
        if (classifyFailure(err) === "deterministic" && ++deterministic >= opts.deterministicAttempts)
          throw new DeterministicFailure(stage, err as Error, deterministic);
        this.onRetry(stage);
        if (attempt === 1 || attempt % 10 === 0)
          this.log.warn({ stage, attempt, err: (err as Error).message }, "retrying");
        const until = Date.now() + delay;
        while (Date.now() < until && opts.alive()) {
          await sleep(Math.min(200, until - Date.now()));
          await opts.beat?.().catch(() => undefined);
        }
        delay = Math.min(delay * 2, this.maxBackoffMs);
      }
    }
  }
}
