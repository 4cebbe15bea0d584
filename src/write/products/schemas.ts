import { z } from "@hono/zod-openapi";
import { Money, withToken } from "../schemas.js";

export const MAX_STOCK = 1_000_000_000;
export const MAX_STOCK_DELTA = 1_000_000;

export const CreateProduct = z
  .strictObject({
    sku: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 of A-Z a-z 0-9 . _ -")
      .openapi({ example: "MUG-001" }),
    name: z.string().trim().min(1).max(200).openapi({ example: "Coffee mug" }),
    price: Money,
    stock: z.number().int().min(0).max(MAX_STOCK).default(0).openapi({ example: 10 }),
  })
  .openapi("CreateProduct");

export const ChangePrice = z.strictObject({ price: Money }).openapi("ChangePrice");

export const AdjustStock = z
  .strictObject({
    delta: z
      .number()
      .int()
      .min(-MAX_STOCK_DELTA)
      .max(MAX_STOCK_DELTA)
      .refine((d) => d !== 0, "must not be 0")
      .openapi({ description: "units to add (positive) or remove (negative)", example: 5 }),
  })
  .openapi("AdjustStock");

export const Product = withToken({
  id: z.uuid(),
  sku: z.string(),
  name: z.string(),
  price: Money,
  stock: z.number().int(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Product");

export type CreateProductInput = z.infer<typeof CreateProduct>;
