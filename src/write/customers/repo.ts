import type pg from "pg";
import { violatedConstraint } from "../db-errors.js";
import { RejectionError } from "../rejections.js";
import type { CreateCustomerInput, UpdateCustomerInput } from "./schemas.js";

/** SQL for shop.customers. Values travel as parameters only. */
export interface CustomerRow {
  id: string;
  email: string;
  name: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = `id, email, name, version,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAt",
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "updatedAt"`;

function duplicateEmail(err: unknown, email: string | undefined): never {
  if (violatedConstraint(err)?.constraint === "customers_email_key") {
    throw new RejectionError({
      kind: "duplicate",
      detail: `a customer with email ${email} already exists`,
      errors: [{ field: "email", reason: "already taken" }],
    });
  }
  throw err;
}

export async function insertCustomer(client: pg.ClientBase, input: CreateCustomerInput): Promise<CustomerRow> {
  try {
    const { rows } = await client.query<CustomerRow>(
      `INSERT INTO shop.customers (email, name) VALUES ($1, $2) RETURNING ${COLUMNS}`,
      [input.email, input.name],
    );
    return rows[0] as CustomerRow;
  } catch (err) {
    duplicateEmail(err, input.email);
  }
}

export async function lockCustomer(client: pg.ClientBase, id: string): Promise<CustomerRow | undefined> {
  const { rows } = await client.query<CustomerRow>(`SELECT ${COLUMNS} FROM shop.customers WHERE id = $1 FOR UPDATE`, [
    id,
  ]);
  return rows[0];
}

export async function updateCustomer(
  client: pg.ClientBase,
  id: string,
  input: UpdateCustomerInput,
): Promise<CustomerRow> {
  try {
    const { rows } = await client.query<CustomerRow>(
      `UPDATE shop.customers
          SET email = COALESCE($2, email), name = COALESCE($3, name), version = version + 1, updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, input.email ?? null, input.name ?? null],
    );
    return rows[0] as CustomerRow;
  } catch (err) {
    duplicateEmail(err, input.email);
  }
}

export async function deleteCustomer(client: pg.ClientBase, id: string): Promise<void> {
  try {
    await client.query("DELETE FROM shop.customers WHERE id = $1", [id]);
  } catch (err) {
    if (violatedConstraint(err)?.constraint === "orders_customer_id_fkey") {
      throw new RejectionError({
        kind: "in_use",
        detail: "the customer has orders and cannot be deleted",
        errors: [{ field: "id", reason: "customer has orders" }],
      });
    }
    throw err;
  }
}
