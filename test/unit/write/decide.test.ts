import { describe, expect, it } from "vitest";
import { decideReplay, requestFingerprint } from "../../../src/write/idempotency.js";
import {
  allowedActions,
  decidePlaceOrder,
  decideTransition,
  fromCents,
  toCents,
} from "../../../src/write/orders/decide.js";
import { decideStockAdjustment } from "../../../src/write/products/decide.js";
import { statusOf } from "../../../src/write/rejections.js";
import { checkVersion, parseIfMatch } from "../../../src/write/versioning.js";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";
const C = "00000000-0000-4000-8000-00000000000c";

describe("money", () => {
  it("converts decimal strings to cents and back exactly", () => {
    expect(toCents("0")).toBe(0n);
    expect(toCents("1.5")).toBe(150n);
    expect(toCents("9999999999.99")).toBe(999999999999n);
    expect(fromCents(5n)).toBe("0.05");
    expect(fromCents(toCents("0.1") + toCents("0.2"))).toBe("0.30");
  });
});

describe("decidePlaceOrder", () => {
  const products = new Map([
    [A, { id: A, price: "2.50", stock: 3 }],
    [B, { id: B, price: "0.10", stock: 100 }],
  ]);

  it("prices the lines and the total", () => {
    const d = decidePlaceOrder(
      {
        customerId: C,
        lines: [
          { productId: A, quantity: 3 },
          { productId: B, quantity: 3 },
        ],
      },
      products,
    );
    expect(d).toEqual({
      ok: true,
      value: {
        total: "7.80",
        lines: [
          { lineNo: 1, productId: A, quantity: 3, unitPrice: "2.50" },
          { lineNo: 2, productId: B, quantity: 3, unitPrice: "0.10" },
        ],
      },
    });
  });

  it("names each unknown product line", () => {
    const d = decidePlaceOrder({ customerId: C, lines: [{ productId: C, quantity: 1 }] }, products);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.rejection.kind).toBe("unknown_reference");
      expect(d.rejection.errors).toEqual([{ field: "lines[0].productId", reason: `no product ${C}` }]);
    }
  });

  it("refuses more than the stock, with what is available", () => {
    const d = decidePlaceOrder(
      {
        customerId: C,
        lines: [
          { productId: B, quantity: 1 },
          { productId: A, quantity: 4 },
        ],
      },
      products,
    );
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.rejection.kind).toBe("insufficient_stock");
      expect(d.rejection.errors).toEqual([{ field: "lines[1].quantity", reason: "only 3 in stock" }]);
      expect(d.rejection.extensions).toEqual({ shortages: [{ productId: A, available: 3 }] });
    }
  });

  it("refuses a total past numeric(14,2)", () => {
    const rich = new Map([[A, { id: A, price: "9999999999.99", stock: 100_000 }]]);
    const d = decidePlaceOrder({ customerId: C, lines: [{ productId: A, quantity: 10_000 }] }, rich);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.rejection.kind).toBe("out_of_range");
  });
});

describe("decideTransition", () => {
  const order = (status: "placed" | "paid" | "shipped" | "cancelled", version = 1) => ({ id: A, status, version });

  it("allows exactly placed→paid, paid→shipped, placed|paid→cancelled", () => {
    const table: Array<[Parameters<typeof order>[0], "pay" | "ship" | "cancel", string | null]> = [
      ["placed", "pay", "paid"],
      ["placed", "ship", null],
      ["placed", "cancel", "cancelled"],
      ["paid", "pay", null],
      ["paid", "ship", "shipped"],
      ["paid", "cancel", "cancelled"],
      ["shipped", "pay", null],
      ["shipped", "ship", null],
      ["shipped", "cancel", null],
      ["cancelled", "pay", null],
      ["cancelled", "ship", null],
      ["cancelled", "cancel", null],
    ];
    for (const [from, action, to] of table) {
      const d = decideTransition(order(from), A, action, undefined);
      if (to === null) {
        expect(d.ok, `${action} from ${from}`).toBe(false);
        if (!d.ok) {
          expect(d.rejection.kind).toBe("illegal_transition");
          expect(d.rejection.extensions?.currentStatus).toBe(from);
        }
      } else {
        expect(d, `${action} from ${from}`).toEqual({ ok: true, value: { to, restock: action === "cancel" } });
      }
    }
    expect(allowedActions("shipped")).toEqual([]);
  });

  it("404s a missing order and 409s a stale version before looking at the state", () => {
    const missing = decideTransition(undefined, A, "pay", undefined);
    expect(!missing.ok && missing.rejection.kind).toBe("not_found");
    const stale = decideTransition(order("shipped", 3), A, "pay", 2);
    expect(!stale.ok && stale.rejection.kind).toBe("version_conflict");
  });
});

describe("stock adjustment", () => {
  it("never goes below zero nor past int4", () => {
    const p = { id: A, stock: 2, version: 1 };
    expect(decideStockAdjustment(p, A, -2, undefined)).toEqual({ ok: true, value: 0 });
    const below = decideStockAdjustment(p, A, -3, undefined);
    expect(!below.ok && below.rejection.kind).toBe("insufficient_stock");
    const over = decideStockAdjustment({ ...p, stock: 2_147_483_000 }, A, 1000, undefined);
    expect(!over.ok && over.rejection.kind).toBe("out_of_range");
  });
});

describe("versions and If-Match", () => {
  it("parses the accepted forms and refuses others", () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('"3"')).toBe(3);
    expect(parseIfMatch('W/"3"')).toBe(3);
    expect(parseIfMatch("3")).toBe(3);
    expect(parseIfMatch("*")).toBe("*");
    expect(parseIfMatch("abc")).toBeNull();
  });

  it("accepts the current version, * and none; refuses any other", () => {
    expect(checkVersion("x", 2, 2).ok).toBe(true);
    expect(checkVersion("x", 2, "*").ok).toBe(true);
    expect(checkVersion("x", 2, undefined).ok).toBe(true);
    const stale = checkVersion("x", 2, 1);
    expect(!stale.ok && stale.rejection.extensions).toEqual({ currentVersion: 2 });
  });
});

describe("idempotency and status table", () => {
  it("replays on the same fingerprint and refuses another one", () => {
    const f1 = requestFingerprint({ method: "POST", path: "/orders", body: { a: 1 } });
    const f2 = requestFingerprint({ method: "POST", path: "/orders", body: { a: 2 } });
    expect(f1).not.toBe(f2);
    const answer = { status: 201, body: { id: A } };
    expect(decideReplay(f1, f1, answer)).toEqual({ ok: true, value: answer });
    const reused = decideReplay(f1, f2, answer);
    expect(!reused.ok && reused.rejection.kind).toBe("idempotency_key_reused");
  });

  it("maps each rejection kind to its status", () => {
    expect(statusOf("not_found")).toBe(404);
    expect(statusOf("illegal_transition")).toBe(409);
    expect(statusOf("version_conflict")).toBe(409);
    expect(statusOf("insufficient_stock")).toBe(409);
    expect(statusOf("unknown_reference")).toBe(422);
    expect(statusOf("idempotency_key_reused")).toBe(422);
  });
});
