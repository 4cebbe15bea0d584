import pino from "pino";

/** Structured JSON logs on stdout. Secrets never reach a log line: redact covers headers that carry them. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? "info", name = "cqrs-sidecar") {
  return pino({
    name,
    level,
    redact: {
      paths: ["req.headers.authorization", "headers.authorization", "password", "token"],
      censor: "[redacted]",
    },
  });
}

export type Logger = pino.Logger;
