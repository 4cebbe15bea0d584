import { z } from "@hono/zod-openapi";
import { withToken } from "../schemas.js";

const Email = z.email().max(254).openapi({ example: "ada@example.com" });
const Name = z.string().trim().min(1).max(200).openapi({ example: "Ada Lovelace" });

export const CreateCustomer = z.strictObject({ email: Email, name: Name }).openapi("CreateCustomer");

export const UpdateCustomer = z
  .strictObject({ email: Email.optional(), name: Name.optional() })
  .refine((v) => v.email !== undefined || v.name !== undefined, { message: "send at least one of email, name" })
  .openapi("UpdateCustomer");

export const Customer = withToken({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).openapi("Customer");

export const DeletedCustomer = withToken({ id: z.uuid(), deleted: z.literal(true), version: z.number().int() }).openapi(
  "DeletedCustomer",
);

export type CreateCustomerInput = z.infer<typeof CreateCustomer>;
export type UpdateCustomerInput = z.infer<typeof UpdateCustomer>;
