import { accept, type Decision, reject } from "../rejections.js";
import { checkVersion, type ExpectedVersion } from "../versioning.js";

/** Pure decisions about products: no I/O, tested in test/unit. */
export interface ProductState {
  id: string;
  stock: number;
  version: number;
}

const INT4_MAX = 2_147_483_647;

export function decideProductChange(
  row: ProductState | undefined,
  id: string,
  expected: ExpectedVersion,
): Decision<ProductState> {
  if (!row) return reject({ kind: "not_found", detail: `no product ${id}` });
  const version = checkVersion(`product ${id}`, row.version, expected);
  return version.ok ? accept(row) : version;
}

/** New stock level after adding `delta` (negative removes); never below 0 nor past int4. */
export function decideStockAdjustment(
  row: ProductState | undefined,
  id: string,
  delta: number,
  expected: ExpectedVersion,
): Decision<number> {
  const change = decideProductChange(row, id, expected);
  if (!change.ok) return change;
  const next = change.value.stock + delta;
  if (next < 0) {
    return reject({
      kind: "insufficient_stock",
      detail: `product ${id} has ${change.value.stock} in stock; cannot remove ${-delta}`,
      errors: [{ field: "delta", reason: `would make stock negative (available ${change.value.stock})` }],
      extensions: { available: change.value.stock },
    });
  }
  if (next > INT4_MAX) {
    return reject({
      kind: "out_of_range",
      detail: `stock would exceed ${INT4_MAX}`,
      errors: [{ field: "delta", reason: "stock out of range" }],
    });
  }
  return accept(next);
}
