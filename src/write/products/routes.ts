import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { createCommandRunner } from "../command.js";
import { orThrow } from "../rejections.js";
import { COMMAND_ERRORS, CommandHeaders, IdParams, jsonBody, jsonResponse } from "../schemas.js";
import { decideProductChange, decideStockAdjustment } from "./decide.js";
import { insertProduct, lockProduct, setPrice, setStock } from "./repo.js";
import { AdjustStock, ChangePrice, CreateProduct, Product } from "./schemas.js";

type Run = ReturnType<typeof createCommandRunner>;
const security = [{ bearer: [] }];

export function registerProductRoutes(app: OpenAPIHono, run: Run): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/products",
      tags: ["products"],
      summary: "Create a product",
      security,
      request: { headers: CommandHeaders, body: jsonBody(CreateProduct) },
      responses: { 201: jsonResponse("created", Product), ...COMMAND_ERRORS },
    }),
    async function createProduct(c) {
      const body = c.req.valid("json");
      return run(c, { headers: c.req.valid("header"), body }, async (client) => ({
        status: 201,
        body: { ...(await insertProduct(client, body)) },
      }));
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/products/{id}/price",
      tags: ["products"],
      summary: "Change a product's price",
      security,
      request: { params: IdParams, headers: CommandHeaders, body: jsonBody(ChangePrice) },
      responses: { 200: jsonResponse("price changed", Product), ...COMMAND_ERRORS },
    }),
    async function changePrice(c) {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      return run(c, { headers: c.req.valid("header"), body }, async (client, expected) => {
        orThrow(decideProductChange(await lockProduct(client, id), id, expected));
        return { status: 200, body: { ...(await setPrice(client, id, body.price)) } };
      });
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/products/{id}/stock-adjustments",
      tags: ["products"],
      summary: "Add (positive delta) or remove (negative delta) stock; never below 0",
      security,
      request: { params: IdParams, headers: CommandHeaders, body: jsonBody(AdjustStock) },
      responses: { 200: jsonResponse("stock adjusted", Product), ...COMMAND_ERRORS },
    }),
    async function adjustStock(c) {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      return run(c, { headers: c.req.valid("header"), body }, async (client, expected) => {
        const stock = orThrow(decideStockAdjustment(await lockProduct(client, id), id, body.delta, expected));
        return { status: 200, body: { ...(await setStock(client, id, stock)) } };
      });
    },
  );
}
