import type pg from "pg";
import { violatedConstraint } from "../db-errors.js";
import { RejectionError } from "../rejections.js";
import type { CreateProductInput } from "./schemas.js";

/** SQL for shop.products. Values travel as parameters only. */
export interface ProductRow {
  id: string;
  sku: string;
  name: string;
  price: string;
  stock: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, sku, name, price::text AS price, stock, version,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "updatedAt"`;

export async function insertProduct(client: pg.ClientBase, input: CreateProductInput): Promise<ProductRow> {
  try {
    const { rows } = await client.query<ProductRow>(
      `INSERT INTO shop.products (sku, name, price, stock) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
      [input.sku, input.name, input.price, input.stock],
    );
    return rows[0] as ProductRow;
  } catch (err) {
    if (violatedConstraint(err)?.constraint === "products_sku_key") {
      throw new RejectionError({
        kind: "duplicate",
        detail: `a product with sku ${input.sku} already exists`,
        errors: [{ field: "sku", reason: "already taken" }],
      });
    }
    throw err;
  }
}

export async function lockProduct(client: pg.ClientBase, id: string): Promise<ProductRow | undefined> {
  const { rows } = await client.query<ProductRow>(`SELECT ${COLUMNS} FROM shop.products WHERE id = $1 FOR UPDATE`, [
    id,
  ]);
  return rows[0];
}

export async function setPrice(client: pg.ClientBase, id: string, price: string): Promise<ProductRow> {
  const { rows } = await client.query<ProductRow>(
    `UPDATE shop.products SET price = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, price],
  );
  return rows[0] as ProductRow;
}

export async function setStock(client: pg.ClientBase, id: string, stock: number): Promise<ProductRow> {
  const { rows } = await client.query<ProductRow>(
    `UPDATE shop.products SET stock = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, stock],
  );
  return rows[0] as ProductRow;
}
