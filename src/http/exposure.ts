import { isIPv4 } from "node:net";
import { type Config, ConfigError } from "../shared/config.js";

/**
 * True for an address only this machine can reach: 127.0.0.0/8, ::1 (also bracketed or
 * IPv4-mapped) and `localhost`. Everything else counts as the network, the wildcards
 * 0.0.0.0 and :: included.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice("::ffff:".length) : h;
  return isIPv4(v4) && v4.startsWith("127.");
}

export interface Exposure {
  /** What listens, for the message: "the write API". */
  what: string;
  /** Variable that sets the interface, e.g. WRITE_API_HOST. */
  hostVariable: string;
  host: string;
  /** Variable that holds the bearer token, e.g. API_TOKEN. */
  tokenVariable: string;
  token: string;
}

/** Pure: why this listener must not start (a non-loopback interface without a token), or undefined. */
export function exposureProblem(e: Exposure): string | undefined {
  if (e.token || isLoopbackHost(e.host)) return undefined;
  return (
    `${e.hostVariable}=${e.host} is not a loopback address and ${e.tokenVariable} is empty: ` +
    `${e.what} would answer anyone who can reach this machine. Set ${e.tokenVariable} to a random secret ` +
    `(make up keeps one in .stack/tokens; or: openssl rand -hex 32), or set ${e.hostVariable}=127.0.0.1`
  );
}

/** Throws a ConfigError naming the variables when any listener would be open to the network. */
export function assertSafeExposure(...exposures: Exposure[]): void {
  const problems = exposures.map(exposureProblem).filter((p): p is string => p !== undefined);
  if (problems.length) throw new ConfigError(problems);
}

/** The write API on `host`: its commands need API_TOKEN off loopback. */
export function writeApiExposure(config: Pick<Config, "API_TOKEN">, host: string): Exposure {
  return {
    what: "the write API",
    hostVariable: "WRITE_API_HOST",
    host,
    tokenVariable: "API_TOKEN",
    token: config.API_TOKEN,
  };
}

/** The read API and its page on `host`: /api/* needs READ_API_TOKEN off loopback. */
export function readApiExposure(config: Pick<Config, "READ_API_TOKEN">, host: string): Exposure {
  return {
    what: "the read API",
    hostVariable: "READ_API_HOST",
    host,
    tokenVariable: "READ_API_TOKEN",
    token: config.READ_API_TOKEN,
  };
}
