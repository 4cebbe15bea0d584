import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type pg from "pg";
import type { createCommandRunner } from "../command.js";
import { orThrow } from "../rejections.js";
import { COMMAND_ERRORS, CommandHeaders, IdParams, jsonBody, jsonResponse } from "../schemas.js";
import { decidePlaceOrder, decideTransition, type OrderAction } from "./decide.js";
import { insertOrder, lockOrder, lockProducts, restock, setOrderStatus } from "./repo.js";
import { Order, PlaceOrder, type PlaceOrderInput } from "./schemas.js";

type Run = ReturnType<typeof createCommandRunner>;
const security = [{ bearer: [] }];

/** Place-order as one transaction body: lock products, decide, write. Used by the route and the benchmark's baseline. */
export async function placeOrder(client: pg.ClientBase, input: PlaceOrderInput) {
  const products = await lockProducts(
    client,
    input.lines.map((l) => l.productId),
  );
  const plan = orThrow(decidePlaceOrder(input, products));
  const order = await insertOrder(client, input.customerId, plan);
  return { ...order, lines: plan.lines };
}

export function registerOrderRoutes(app: OpenAPIHono, run: Run): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/orders",
      tags: ["orders"],
      summary: "Place an order: takes stock for every line, all or nothing",
      security,
      request: { headers: CommandHeaders, body: jsonBody(PlaceOrder) },
      responses: { 201: jsonResponse("placed", Order), ...COMMAND_ERRORS },
    }),
    async function placeOrderHandler(c) {
      const body = c.req.valid("json");
      return run(c, { headers: c.req.valid("header"), body }, async (client) => ({
        status: 201,
        body: await placeOrder(client, body),
      }));
    },
  );

  for (const action of ["pay", "ship", "cancel"] as const satisfies OrderAction[]) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/orders/{id}/${action}`,
        tags: ["orders"],
        summary: `${action[0]?.toUpperCase()}${action.slice(1)} an order (illegal in its current state: 409 with currentStatus)`,
        security,
        request: { params: IdParams, headers: CommandHeaders },
        responses: { 200: jsonResponse("new state", Order), ...COMMAND_ERRORS },
      }),
      async function transitionOrder(c) {
        const { id } = c.req.valid("param");
        return run(c, { headers: c.req.valid("header") }, async (client, expected) => {
          const next = orThrow(decideTransition(await lockOrder(client, id), id, action, expected));
          if (next.restock) await restock(client, id);
          return { status: 200, body: { ...(await setOrderStatus(client, id, next.to)) } };
        });
      },
    );
  }
}
