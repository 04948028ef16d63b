import * as z from 'zod';

/**
 * SES's sending events as its configuration set publishes them to EventBridge (source `aws.ses`, detail-type
 * `Email Bounced` / `Email Complaint Received`), read only as far as suppression needs: the event type, a bounce's
 * type and its recipients, a complaint's recipients. SES reports a soft bounce only once it gave up retrying, but
 * only a `Permanent` bounce says the address is dead; a complaint means the person does not want the mail.
 */
const recipients = z.array(z.looseObject({ emailAddress: z.string() }));
export const sesEventDetailSchema = z.looseObject({
  eventType: z.string(),
  bounce: z.looseObject({ bounceType: z.string(), bounceSubType: z.string().optional(), bouncedRecipients: recipients }).optional(),
  complaint: z.looseObject({ complainedRecipients: recipients, complaintFeedbackType: z.string().optional() }).optional(),
});

/** The addresses an SES event says to stop sending to, with why. */
export function suppressionsOf(detail: unknown): { address: string; reason: string }[] {
  const e = sesEventDetailSchema.parse(detail);
  if (e.eventType === 'Bounce' && e.bounce?.bounceType === 'Permanent')
    return e.bounce.bouncedRecipients.map((r) => ({
      address: r.emailAddress.toLowerCase(),
      reason: `bounced (${e.bounce!.bounceSubType ?? 'Permanent'})`,
    }));
  if (e.eventType === 'Complaint' && e.complaint)
    return e.complaint.complainedRecipients.map((r) => ({ address: r.emailAddress.toLowerCase(), reason: 'complained' }));
  return [];
}
