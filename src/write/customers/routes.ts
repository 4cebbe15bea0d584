import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { createCommandRunner } from "../command.js";
import { accept, type Decision, orThrow, reject } from "../rejections.js";
import { COMMAND_ERRORS, CommandHeaders, IdParams, jsonBody, jsonResponse } from "../schemas.js";
import { checkVersion } from "../versioning.js";
import { type CustomerRow, deleteCustomer, insertCustomer, lockCustomer, updateCustomer } from "./repo.js";
import { CreateCustomer, Customer, DeletedCustomer, UpdateCustomer } from "./schemas.js";

type Run = ReturnType<typeof createCommandRunner>;
const security = [{ bearer: [] }];

/** Pure: the row must exist and be at the version the client read. */
export function decideChange(
  row: CustomerRow | undefined,
  id: string,
  expected: Parameters<typeof checkVersion>[2],
): Decision<CustomerRow> {
  if (!row) return reject({ kind: "not_found", detail: `no customer ${id}` });
  const version = checkVersion(`customer ${id}`, row.version, expected);
  return version.ok ? accept(row) : version;
}

export function registerCustomerRoutes(app: OpenAPIHono, run: Run): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/customers",
      tags: ["customers"],
      summary: "Create a customer",
      security,
      request: { headers: CommandHeaders, body: jsonBody(CreateCustomer) },
      responses: { 201: jsonResponse("created", Customer), ...COMMAND_ERRORS },
    }),
    async function createCustomer(c) {
      const body = c.req.valid("json");
      return run(c, { headers: c.req.valid("header"), body }, async (client) => ({
        status: 201,
        body: { ...(await insertCustomer(client, body)) },
      }));
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/customers/{id}",
      tags: ["customers"],
      summary: "Change a customer's email and/or name",
      security,
      request: { params: IdParams, headers: CommandHeaders, body: jsonBody(UpdateCustomer) },
      responses: { 200: jsonResponse("updated", Customer), ...COMMAND_ERRORS },
    }),
    async function updateCustomerHandler(c) {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      return run(c, { headers: c.req.valid("header"), body }, async (client, expected) => {
        orThrow(decideChange(await lockCustomer(client, id), id, expected));
        return { status: 200, body: { ...(await updateCustomer(client, id, body)) } };
      });
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/customers/{id}",
      tags: ["customers"],
      summary: "Delete a customer without orders",
      security,
      request: { params: IdParams, headers: CommandHeaders },
      responses: { 200: jsonResponse("deleted", DeletedCustomer), ...COMMAND_ERRORS },
    }),
    async function deleteCustomerHandler(c) {
      const { id } = c.req.valid("param");
      return run(c, { headers: c.req.valid("header") }, async (client, expected) => {
        const row = orThrow(decideChange(await lockCustomer(client, id), id, expected));
        await deleteCustomer(client, id);
        return { status: 200, body: { id, deleted: true, version: row.version } };
      });
    },
  );
}
