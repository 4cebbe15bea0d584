import { accept, type Decision, reject } from "../rejections.js";
import { checkVersion, type ExpectedVersion } from "../versioning.js";
import type { OrderStatusValue, PlaceOrderInput } from "./schemas.js";

/** Pure decisions about orders: no I/O, tested in test/unit. */

/** Largest total numeric(14,2) holds, in cents. */
const MAX_TOTAL_CENTS = 99_999_999_999_999n;

export function toCents(money: string): bigint {
  const [whole = "0", frac = ""] = money.split(".");
  return BigInt(whole) * 100n + BigInt(`${frac}00`.slice(0, 2));
}

export function fromCents(cents: bigint): string {
  const whole = cents / 100n;
  const frac = (cents % 100n).toString().padStart(2, "0");
  return `${whole}.${frac}`;
}

export interface StockedProduct {
  id: string;
  price: string;
  stock: number;
}

export interface PlannedOrder {
  total: string;
  lines: { lineNo: number; productId: string; quantity: number; unitPrice: string }[];
}

/** Checks every line against the locked product rows and prices the order. */
export function decidePlaceOrder(
  input: PlaceOrderInput,
  products: ReadonlyMap<string, StockedProduct>,
): Decision<PlannedOrder> {
  const unknown = input.lines.flatMap((l, i) =>
    products.has(l.productId) ? [] : [{ field: `lines[${i}].productId`, reason: `no product ${l.productId}` }],
  );
  if (unknown.length > 0) {
    return reject({ kind: "unknown_reference", detail: "the order names products that do not exist", errors: unknown });
  }
  const short = input.lines.flatMap((l, i) => {
    const p = products.get(l.productId) as StockedProduct;
    return p.stock >= l.quantity
      ? []
      : [
          {
            field: `lines[${i}].quantity`,
            reason: `only ${p.stock} in stock`,
            productId: l.productId,
            available: p.stock,
          },
        ];
  });
  if (short.length > 0) {
    return reject({
      kind: "insufficient_stock",
      detail: "not enough stock for every line",
      errors: short.map(({ field, reason }) => ({ field, reason })),
      extensions: { shortages: short.map(({ productId, available }) => ({ productId, available })) },
    });
  }
  let total = 0n;
  const lines = input.lines.map((l, i) => {
    const unitPrice = (products.get(l.productId) as StockedProduct).price;
    total += toCents(unitPrice) * BigInt(l.quantity);
    return { lineNo: i + 1, productId: l.productId, quantity: l.quantity, unitPrice };
  });
  if (total > MAX_TOTAL_CENTS) {
    return reject({
      kind: "out_of_range",
      detail: `order total ${fromCents(total)} exceeds ${fromCents(MAX_TOTAL_CENTS)}`,
      errors: [{ field: "lines", reason: "order total too large" }],
    });
  }
  return accept({ total: fromCents(total), lines });
}

export type OrderAction = "pay" | "ship" | "cancel";

/** The order life cycle: placed → paid → shipped; placed or paid → cancelled. */
export const TRANSITIONS: Record<OrderAction, { from: readonly OrderStatusValue[]; to: OrderStatusValue }> = {
  pay: { from: ["placed"], to: "paid" },
  ship: { from: ["paid"], to: "shipped" },
  cancel: { from: ["placed", "paid"], to: "cancelled" },
};

export interface OrderState {
  id: string;
  status: OrderStatusValue;
  version: number;
}

export interface PlannedTransition {
  to: OrderStatusValue;
  /** Cancelling returns the order's units to stock. */
  restock: boolean;
}

export function allowedActions(status: OrderStatusValue): OrderAction[] {
  return (Object.keys(TRANSITIONS) as OrderAction[]).filter((a) => TRANSITIONS[a].from.includes(status));
}

export function decideTransition(
  order: OrderState | undefined,
  id: string,
  action: OrderAction,
  expected: ExpectedVersion,
): Decision<PlannedTransition> {
  if (!order) return reject({ kind: "not_found", detail: `no order ${id}` });
  const version = checkVersion(`order ${id}`, order.version, expected);
  if (!version.ok) return version;
  const rule = TRANSITIONS[action];
  if (!rule.from.includes(order.status)) {
    return reject({
      kind: "illegal_transition",
      detail: `cannot ${action} an order that is ${order.status}`,
      errors: [{ field: "status", reason: `${action} needs ${rule.from.join(" or ")}, order is ${order.status}` }],
      extensions: { currentStatus: order.status, allowedActions: allowedActions(order.status) },
    });
  }
  return accept({ to: rule.to, restock: action === "cancel" });
}
