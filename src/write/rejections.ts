import { ApiError, type FieldError } from "../http/problem.js";

/**
 * What a command can refuse, independent of HTTP. Decision functions return these;
 * one table below turns each kind into its HTTP status.
 */
export type RejectionKind =
  | "not_found" // the resource in the path does not exist
  | "version_conflict" // If-Match names a version that is no longer current
  | "illegal_transition" // e.g. shipping a cancelled order
  | "insufficient_stock"
  | "duplicate" // unique key taken (email, sku)
  | "in_use" // still referenced (a customer with orders)
  | "unknown_reference" // the body names a product/customer that does not exist
  | "out_of_range" // the result would not fit (order total, stock level)
  | "idempotency_key_reused"; // same Idempotency-Key, different request

const STATUS: Record<RejectionKind, { status: number; title: string }> = {
  not_found: { status: 404, title: "Not Found" },
  version_conflict: { status: 409, title: "Version Conflict" },
  illegal_transition: { status: 409, title: "Illegal State Transition" },
  insufficient_stock: { status: 409, title: "Insufficient Stock" },
  duplicate: { status: 409, title: "Duplicate" },
  in_use: { status: 409, title: "Resource In Use" },
  unknown_reference: { status: 422, title: "Unknown Reference" },
  out_of_range: { status: 422, title: "Out Of Range" },
  idempotency_key_reused: { status: 422, title: "Idempotency Key Reused" },
};

export interface Rejection {
  kind: RejectionKind;
  detail: string;
  errors?: FieldError[];
  /** Extension members for the problem document (currentStatus, currentVersion, available, …). */
  extensions?: Record<string, unknown>;
}

/** Thrown inside a transaction to roll it back; the error handler answers with its problem. */
export class RejectionError extends ApiError {
  constructor(readonly rejection: Rejection) {
    const { status, title } = STATUS[rejection.kind];
    super({
      status,
      title,
      type: `urn:cqrs-sidecar:problem:${rejection.kind.replaceAll("_", "-")}`,
      detail: rejection.detail,
      errors: rejection.errors,
      extensions: rejection.extensions,
    });
  }
}

export function statusOf(kind: RejectionKind): number {
  return STATUS[kind].status;
}

export type Decision<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

export const accept = <T>(value: T): Decision<T> => ({ ok: true, value });
export const reject = <T = never>(rejection: Rejection): Decision<T> => ({ ok: false, rejection });

/** Unwraps a decision inside a transaction: a rejection throws (and so rolls back). */
export function orThrow<T>(decision: Decision<T>): T {
  if (!decision.ok) throw new RejectionError(decision.rejection);
  return decision.value;
}
