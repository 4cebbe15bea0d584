import { randomUUID } from "node:crypto";
import type pg from "pg";
import { violatedConstraint } from "../db-errors.js";
import { RejectionError } from "../rejections.js";
import type { PlannedOrder, StockedProduct } from "./decide.js";
import type { OrderStatusValue } from "./schemas.js";

/** SQL for shop.orders and shop.order_lines. Values travel as parameters only. */
export interface OrderRow {
  id: string;
  customerId: string;
  status: OrderStatusValue;
  total: string;
  version: number;
  placedAt: string;
  updatedAt: string;
}

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const COLUMNS = `id, customer_id AS "customerId", status, total::text AS total, version,
  ${ISO("placed_at")} AS "placedAt", ${ISO("updated_at")} AS "updatedAt"`;

/**
 * Locks the named products in id order (so concurrent orders cannot deadlock) and
 * returns what the decision needs. Another order for the same product waits here
 * until this transaction ends, then sees the stock it left.
 */
export async function lockProducts(client: pg.ClientBase, ids: string[]): Promise<Map<string, StockedProduct>> {
  const { rows } = await client.query<StockedProduct>(
    "SELECT id, price::text AS price, stock FROM shop.products WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** Takes the stock, inserts the order and its lines: one statement, one round trip. */
export async function insertOrder(client: pg.ClientBase, customerId: string, plan: PlannedOrder): Promise<OrderRow> {
  const id = randomUUID();
  try {
    const { rows } = await client.query<OrderRow>(
      `WITH taken AS (
         UPDATE shop.products p
            SET stock = p.stock - l.quantity, version = p.version + 1, updated_at = now()
           FROM unnest($3::uuid[], $4::int[]) AS l(product_id, quantity)
          WHERE p.id = l.product_id
          RETURNING p.id
       ), o AS (
         INSERT INTO shop.orders (id, customer_id, total) VALUES ($1, $2, $5) RETURNING *
       ), lines AS (
         INSERT INTO shop.order_lines (order_id, line_no, product_id, quantity, unit_price)
         SELECT $1, l.line_no, l.product_id, l.quantity, l.unit_price
           FROM unnest($3::uuid[], $4::int[], $6::numeric[]) WITH ORDINALITY AS l(product_id, quantity, unit_price, line_no)
         RETURNING 1
       )
       SELECT ${COLUMNS}, (SELECT count(*) FROM taken)::int AS taken, (SELECT count(*) FROM lines)::int AS lines FROM o`,
      [
        id,
        customerId,
        plan.lines.map((l) => l.productId),
        plan.lines.map((l) => l.quantity),
        plan.total,
        plan.lines.map((l) => l.unitPrice),
      ],
    );
    const row = rows[0] as OrderRow & { taken: number; lines: number };
    if (row.taken !== plan.lines.length || row.lines !== plan.lines.length) {
      throw new Error(`order ${id}: took stock of ${row.taken} and wrote ${row.lines} of ${plan.lines.length} lines`);
    }
    const { taken: _t, lines: _l, ...order } = row;
    return order;
  } catch (err) {
    if (violatedConstraint(err)?.constraint === "orders_customer_id_fkey") {
      throw new RejectionError({
        kind: "unknown_reference",
        detail: `no customer ${customerId}`,
        errors: [{ field: "customerId", reason: "no such customer" }],
      });
    }
    throw err;
  }
}

export async function lockOrder(client: pg.ClientBase, id: string): Promise<OrderRow | undefined> {
  const { rows } = await client.query<OrderRow>(`SELECT ${COLUMNS} FROM shop.orders WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

export async function setOrderStatus(client: pg.ClientBase, id: string, status: OrderStatusValue): Promise<OrderRow> {
  const { rows } = await client.query<OrderRow>(
    `UPDATE shop.orders SET status = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, status],
  );
  return rows[0] as OrderRow;
}

/** Returns an order's units to stock (on cancel), locking products in id order. */
export async function restock(client: pg.ClientBase, orderId: string): Promise<void> {
  await client.query(
    `WITH l AS (
       SELECT product_id, sum(quantity)::int AS quantity FROM shop.order_lines WHERE order_id = $1 GROUP BY product_id
     ), locked AS (
       SELECT p.id FROM shop.products p JOIN l ON l.product_id = p.id ORDER BY p.id FOR UPDATE OF p
     )
     UPDATE shop.products p SET stock = p.stock + l.quantity, version = p.version + 1, updated_at = now()
       FROM l WHERE p.id = l.product_id AND p.id IN (SELECT id FROM locked)`,
    [orderId],
  );
}
