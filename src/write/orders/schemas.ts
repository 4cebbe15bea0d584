import { z } from "@hono/zod-openapi";
import { Money, withToken } from "../schemas.js";

export const MAX_LINES = 100;
export const MAX_QUANTITY = 10_000;

const OrderLineInput = z.strictObject({
  productId: z.uuid(),
  quantity: z.number().int().min(1).max(MAX_QUANTITY).openapi({ example: 2 }),
});

export const PlaceOrder = z
  .strictObject({
    customerId: z.uuid(),
    lines: z.array(OrderLineInput).min(1, "an order needs at least one line").max(MAX_LINES),
  })
  .superRefine((order, ctx) => {
    const seen = new Set<string>();
    order.lines.forEach((line, i) => {
      if (seen.has(line.productId)) {
        ctx.addIssue({ code: "custom", path: ["lines", i, "productId"], message: "product already on another line" });
      }
      seen.add(line.productId);
    });
  })
  .openapi("PlaceOrder");

export const OrderStatus = z.enum(["placed", "paid", "shipped", "cancelled"]);

export const Order = withToken({
  id: z.uuid(),
  customerId: z.uuid(),
  status: OrderStatus,
  total: Money,
  version: z.number().int(),
  placedAt: z.string(),
  updatedAt: z.string(),
  lines: z
    .array(z.object({ lineNo: z.number().int(), productId: z.uuid(), quantity: z.number().int(), unitPrice: Money }))
    .optional()
    .openapi({ description: "present in the answer to place-order" }),
}).openapi("Order");

export type PlaceOrderInput = z.infer<typeof PlaceOrder>;
export type OrderStatusValue = z.infer<typeof OrderStatus>;
