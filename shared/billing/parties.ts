import * as z from 'zod';
import { numberField } from '../kernel/json-fields.js';

/**
 * Who an invoice is from and to, as a finance team needs it on the document: legal name, postal
 * address, tax id, contact. The seller (the operator running Meterline) also sets its payment terms.
 * Both are data the admin API keeps, so every stage and tenant can differ without a deploy.
 */
export const partySchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** Postal address, one line per entry. */
  address: z.array(z.string().min(1).max(200)).max(6).default([]),
  taxId: z.string().min(1).max(60).optional(),
  email: z.email().optional(),
});
export type Party = z.infer<typeof partySchema>;

export const sellerSchema = partySchema.extend({
  /** Days between an invoice's issue and its due date. */
  paymentTermsDays: numberField(z.number().int().min(0).max(180)).default(14),
  /** How to pay when the invoice has no online payment link (bank details, a payment page). */
  paymentInstructions: z.string().min(1).max(500).optional(),
});
export type Seller = z.infer<typeof sellerSchema>;

/** Until the operator sets its details, the invoice says so rather than inventing them. */
export const unsetSeller: Seller = { name: 'Seller details not set (PUT /v1/admin/billing/seller)', address: [], paymentTermsDays: 14 };

export function dueDate(issuedAt: string, seller: Seller): string {
  return new Date(Date.parse(issuedAt) + seller.paymentTermsDays * 86_400_000).toISOString();
}
