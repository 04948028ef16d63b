import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import type { DomainEvent } from '../events/domain-events.js';
import { retryDelaySeconds } from './webhooks.js';

/**
 * Email: who receives which message, what it says, and the signed links in it.
 *
 * A tenant names recipients, each with a role: its `billing` contact, its `technical` contact, or an `extra`
 * address. A recipient receives only after it followed the link in its verification mail. What a recipient
 * receives is a set of categories (billing, usage), defaulting by role; the preferences link in every message
 * changes it without a login. Operators (a list of addresses from the stack's configuration) receive the
 * `operations` category: the Stripe report failing, Stripe's invoices disagreeing with Meterline's, and tenants
 * gone silent.
 *
 * Every domain event kind renders: the kinds known here get a message of their own, any other kind a readable
 * generic one listing its data, so a new kind is mailed (to the technical contact) without a change here.
 */
export const recipientRoles = ['billing', 'technical', 'extra'] as const;
export type RecipientRole = (typeof recipientRoles)[number];

export const emailCategories = ['billing', 'usage', 'operations'] as const;
export type EmailCategory = (typeof emailCategories)[number];
/** The categories a tenant's recipient can choose; `operations` is the operators'. */
export const tenantCategories = ['billing', 'usage'] as const;

export const defaultCategories: Record<RecipientRole, EmailCategory[]> = {
  billing: ['billing'],
  technical: ['usage'],
  extra: ['billing', 'usage'],
};

/** An email address as a tenant gives it: trimmed and lowercased, so one mailbox is one recipient. */
export const emailAddressSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: 'must be an email address' }).max(254));

export const recipientInputSchema = z.strictObject({
  address: emailAddressSchema,
  role: z.enum(recipientRoles),
  /** What it receives; the role's default when absent. */
  categories: z.array(z.enum(tenantCategories)).max(tenantCategories.length).optional(),
});

export const recipientUpdateSchema = z.strictObject({
  role: z.enum(recipientRoles).optional(),
  categories: z.array(z.enum(tenantCategories)).max(tenantCategories.length),
});

export interface Recipient {
  tenantId: string;
  address: string;
  role: RecipientRole;
  categories: EmailCategory[];
  createdAt: string;
  /** Set when the address followed its verification link; nothing is sent to it before. */
  verifiedAt?: string;
}

/** Recipients a tenant may name: its contacts and a few more, few enough that one event stays a handful of mails. */
export const MAX_RECIPIENTS = 10;

/** How an event's message is routed: its category, and whether operators receive it too. */
export interface Audience {
  category: EmailCategory;
  operators: boolean;
}

/**
 * Who an event kind is for, or undefined for kinds that are not mailed: a quarantined event is a developer's
 * detail (the API and webhooks tell it), and an invoice's status change is told by the messages of its own
 * (issued, payment failed). Unknown kinds are usage news for the technical contact; `usage.silent` reaches the
 * operators as well, since a silent tenant is unbilled revenue.
 */
export function audienceOf(type: string): Audience | undefined {
  if (type === 'event.quarantined' || type === 'invoice.status_changed') return undefined;
  if (type === 'stripe.report_failed' || type === 'reconciliation.mismatch') return { category: 'operations', operators: true };
  if (type.startsWith('invoice.') || type.startsWith('spend.')) return { category: 'billing', operators: false };
  return { category: 'usage', operators: type === 'usage.silent' };
}

/** The addresses one event goes to: the tenant's verified recipients of its category, and the operators when it is theirs. */
export function addressesFor(audience: Audience, recipients: readonly Recipient[], operators: readonly string[]): string[] {
  const tenant =
    audience.category === 'operations'
      ? []
      : recipients.filter((r) => r.verifiedAt && r.categories.includes(audience.category)).map((r) => r.address);
  return [...new Set([...tenant, ...(audience.operators ? operators : [])])];
}

/**
 * One message to one address. Its id is the idempotency key: derived from what it announces (the domain event's
 * stable id, or the verification it asks for) and the address, so a retried job that announces the same fact
 * again finds the message already there and sends nothing.
 */
export interface Email {
  id: string;
  tenantId: string;
  to: string;
  /** The domain event it announces (its JSON), or a verification request. */
  subject: { kind: 'event'; event: DomainEvent } | { kind: 'verification' };
  status: EmailStatus;
  attempts: EmailAttempt[];
  createdAt: string;
  sentAt?: string;
  nextAttemptAt?: string;
}

/** `suppressed`: the address bounced or complained before, so it was not sent. */
export type EmailStatus = 'pending' | 'sent' | 'failed' | 'suppressed';

export interface EmailAttempt {
  at: string;
  /** The sending service's message id, when it took the message. */
  messageId?: string;
  error?: string;
}

export const emailIdOf = (key: string, address: string) =>
  `em_${createHash('sha256').update(`${key}\n${address}`).digest('hex').slice(0, 32)}`;

/** What the email queue carries besides the bus's events: an email whose (next) attempt is due at `dueAt`. */
export const emailWorkSchema = z.strictObject({
  tenantId: z.string(),
  emailId: z.string(),
  dueAt: z.iso.datetime(),
  seriesStart: z.iso.datetime(),
});
export type EmailWork = z.infer<typeof emailWorkSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Signed links: verification, preferences and one-click unsubscribe, without a login.

export const linkPurposes = ['verify', 'preferences'] as const;
export type LinkPurpose = (typeof linkPurposes)[number];

const linkClaims = z.strictObject({
  p: z.enum(linkPurposes),
  t: z.string().min(1),
  a: z.string().min(3),
  /** Expiry, epoch seconds. */
  e: z.number().int(),
});
export interface LinkClaims {
  purpose: LinkPurpose;
  tenantId: string;
  address: string;
}

/** A verification link lives a week; a preferences link as long as a mail is kept (RFC 8058 asks that it keep working). */
export const LINK_LIFETIME_SECONDS: Record<LinkPurpose, number> = { verify: 7 * 86_400, preferences: 2 * 365 * 86_400 };

/** `<claims>.<mac>`: the claims as base64url JSON and an HMAC-SHA256 over them under the link key. */
export function signLink(key: Buffer, claims: LinkClaims, now: number): string {
  const body = Buffer.from(
    JSON.stringify({
      p: claims.purpose,
      t: claims.tenantId,
      a: claims.address,
      e: Math.floor(now / 1000) + LINK_LIFETIME_SECONDS[claims.purpose],
    }),
  ).toString('base64url');
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

/** The link's claims when its MAC is right (compared in constant time), it is for `purpose` and has not expired. */
export function verifyLink(key: Buffer, token: string, purpose: LinkPurpose, now: number): LinkClaims | undefined {
  const [body, mac, ...rest] = token.split('.');
  if (!body || !mac || rest.length) return undefined;
  const given = Buffer.from(mac, 'base64url');
  const expected = createHmac('sha256', key).update(body).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const claims = linkClaims.safeParse(parsed);
  if (!claims.success || claims.data.p !== purpose || claims.data.e * 1000 <= now) return undefined;
  return { purpose, tenantId: claims.data.t, address: claims.data.a };
}

// ---------------------------------------------------------------------------------------------------------------
// Messages.

/** A message as written, before it is addressed: one structure, rendered to both the text and the HTML part. */
export interface Message {
  subject: string;
  /** The first line: what happened, in a sentence. */
  headline: string;
  /** Labelled values (the meter, the value, the threshold, the period). */
  facts: [string, string][];
  /** Further paragraphs. */
  notes: string[];
  /** The one thing to do next, when there is one. */
  action?: { label: string; url: string };
}

export interface MessageContext {
  /** The tenant's display name (its id when it has none). */
  tenantName: string;
  /** The dashboard's origin, for links into it. */
  dashboardUrl: string;
}

const day = (iso: string) => iso.slice(0, 10);
/** A period as people read it: its first and last day (`end` is exclusive). */
const periodText = (p: { start: string; end: string }) => `${day(p.start)} to ${day(new Date(Date.parse(p.end) - 1).toISOString())}`;

// biome-ignore lint/suspicious/noExplicitAny: the data was validated against its event's schema; each template reads the fields its kind has.
type Data = Record<string, any>;
const templates: Record<string, (data: Data, ctx: MessageContext) => Message> = {
  'usage.threshold_crossed': (d, ctx) => ({
    subject: `${ctx.tenantName}: ${d.meter} reached ${d.percent ? `${d.percent}% of its ${d.of === 'quota' ? 'quota' : 'included quantity'}` : d.threshold}`,
    headline: `Usage of ${d.meter} reached ${d.value}, crossing ${d.percent ? `${d.percent}% (${d.threshold})` : d.threshold}${d.name ? ` (rule "${d.name}")` : ''}.`,
    facts: [
      ['Meter', d.meter],
      ['Usage so far', d.value],
      ['Threshold', d.threshold],
      ['Billing period', periodText(d.period)],
    ],
    notes: ['This rule tells you once per billing period.'],
    action: { label: 'See usage in the dashboard', url: `${ctx.dashboardUrl}/#/usage` },
  }),
  'quota.exceeded': (d, ctx) => ({
    subject: `${ctx.tenantName}: the ${d.meter} quota is used up`,
    headline: `Usage of ${d.meter} reached its hard quota of ${d.limit} for this billing period.`,
    facts: [
      ['Meter', d.meter],
      ['Usage so far', d.value],
      ['Quota', d.limit],
      ['Billing period', periodText(d.period)],
    ],
    notes: ['Requests that check this quota are refused until the period ends or the quota is raised.'],
    action: { label: 'See quotas in the dashboard', url: `${ctx.dashboardUrl}/#/usage` },
  }),
  'spend.threshold_crossed': (d, ctx) => ({
    subject: `${ctx.tenantName}: ${d.basis === 'projected' ? 'projected spend' : 'spend'} reached ${d.currency} ${d.threshold}`,
    headline:
      d.basis === 'projected'
        ? `This period's projected cost is ${d.currency} ${d.value}, above ${d.currency} ${d.threshold}.`
        : `This period's cost so far is ${d.currency} ${d.value}, above ${d.currency} ${d.threshold}.`,
    facts: [
      [d.basis === 'projected' ? 'Projected cost' : 'Cost so far', `${d.currency} ${d.value}`],
      ['Threshold', `${d.currency} ${d.threshold}`],
      ['Billing period', periodText(d.period)],
    ],
    notes: ['Amounts are before tax.'],
    action: { label: 'See costs in the dashboard', url: `${ctx.dashboardUrl}/#/plan` },
  }),
  'invoice.issued': (d, ctx) => ({
    subject: `Invoice ${d.number} for ${ctx.tenantName}: ${d.currency} ${d.total}`,
    headline: `Invoice ${d.number} for ${ctx.tenantName} is issued: ${d.currency} ${d.total}.`,
    facts: [
      ['Invoice', d.number],
      ['Total', `${d.currency} ${d.total}`],
      ['Period', periodText({ start: d.periodStart, end: d.periodEnd })],
      ['Issued', day(d.issuedAt)],
    ],
    notes: ['The invoice is attached as a PDF.'],
    action: { label: 'See the invoice in the dashboard', url: `${ctx.dashboardUrl}/#/invoices` },
  }),
  'invoice.payment_failed': (d, ctx) => ({
    subject: `${ctx.tenantName}: payment of ${d.number ? `invoice ${d.number}` : 'an invoice'} failed`,
    headline: `A payment of ${d.currency} ${d.total}${d.number ? ` for invoice ${d.number}` : ''} failed.`,
    facts: [...(d.number ? ([['Invoice', d.number]] as [string, string][]) : []), ['Amount due', `${d.currency} ${d.total}`]],
    notes: ['Please check the payment method on file; the payment is attempted again.'],
    action: d.hostedInvoiceUrl
      ? { label: 'Pay the invoice', url: d.hostedInvoiceUrl }
      : { label: 'See invoices in the dashboard', url: `${ctx.dashboardUrl}/#/invoices` },
  }),
  'stripe.report_failed': (d, ctx) => ({
    subject: `Operators: usage of ${ctx.tenantName} did not reach Stripe`,
    headline:
      d.source === 'usage_report'
        ? `The daily Stripe report failed for ${d.errors.length} meter day(s) of ${ctx.tenantName}; the next run retries them.`
        : `Stripe refused meter events of ${ctx.tenantName} that it had taken.`,
    facts: d.errors
      .slice(0, 20)
      .map((e: Data) => [[e.meter, e.day].filter(Boolean).join(' on ') || 'Error', `${e.code}: ${e.message}`] as [string, string]),
    notes: d.errors.length > 20 ? [`And ${d.errors.length - 20} more.`] : [],
    action: { label: 'Open the operator console', url: `${ctx.dashboardUrl}/#/console` },
  }),
  'reconciliation.mismatch': (d, ctx) => ({
    subject: `Operators: Stripe's invoice for ${ctx.tenantName} differs from Meterline's`,
    headline: `Stripe invoice ${d.stripeInvoiceId} bills usage for ${periodText(d.period)} that differs from Meterline's invoice.`,
    facts: d.mismatches
      .slice(0, 20)
      .map(
        (m: Data) =>
          [`${m.kind}${m.meter ? ` (${m.meter})` : ''}`, `Stripe ${m.stripe ?? 'none'}, Meterline ${m.meterline ?? 'none'}`] as [
            string,
            string,
          ],
      ),
    notes: ['The billing issue is listed in the operator console.'],
    action: { label: 'Open the operator console', url: `${ctx.dashboardUrl}/#/console` },
  }),
};

/** `observedValue` → `Observed value`. */
const label = (key: string) =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_.]/g, ' ')
    .toLowerCase()
    .replace(/^./, (c) => c.toUpperCase());

/** Every leaf of an event's data as a labelled fact (nested objects by path, arrays item by item). */
function flatten(value: unknown, path: string[] = []): [string, string][] {
  if (value !== null && typeof value === 'object')
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      flatten(v, [...path, Array.isArray(value) ? `${Number(k) + 1}` : k]),
    );
  return [[path.map(label).join(' / ') || 'Value', String(value)]];
}

/** The message for a kind no template knows: its name made readable, and its data as facts. */
function genericMessage(event: DomainEvent, ctx: MessageContext): Message {
  const what = event.type.replace(/[._]/g, ' ');
  return {
    subject: `${ctx.tenantName}: ${what}`,
    headline: `Meterline reports ${what} for ${ctx.tenantName}.`,
    facts: flatten(event.data).slice(0, 40),
    notes: [`Event ${event.id}, at ${event.occurredAt}.`],
    action: { label: 'Open the dashboard', url: `${ctx.dashboardUrl}/#/alerts` },
  };
}

export function eventMessage(event: DomainEvent, ctx: MessageContext): Message {
  const template = templates[event.type];
  return template ? template(event.data as Data, ctx) : genericMessage(event, ctx);
}

export function verificationMessage(ctx: MessageContext, address: string, verifyUrl: string): Message {
  return {
    subject: `Confirm ${address} for ${ctx.tenantName}'s Meterline mail`,
    headline: `${ctx.tenantName} asked Meterline to send its usage and billing mail to ${address}.`,
    facts: [],
    notes: ['Nothing is sent to this address until it is confirmed. If you did not expect this, ignore it: the link expires in 7 days.'],
    action: { label: 'Confirm this address', url: verifyUrl },
  };
}

export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Both parts of a message, and the footer saying why it came and where to change that. The HTML is one
 * table-free column with inline styles and no remote images: what common clients render alike.
 */
export function render(message: Message, footer: { reason: string; preferencesUrl?: string }): Rendered {
  const width = Math.max(0, ...message.facts.map(([l]) => l.length));
  const text = [
    message.headline,
    '',
    ...message.facts.map(([l, v]) => `${`${l}:`.padEnd(width + 2)}${v}`),
    ...(message.facts.length ? [''] : []),
    ...message.notes.flatMap((n) => [n, '']),
    ...(message.action ? [`${message.action.label}: ${message.action.url}`, ''] : []),
    '-- ',
    footer.reason,
    ...(footer.preferencesUrl ? [`Change what you receive or unsubscribe: ${footer.preferencesUrl}`] : []),
  ].join('\n');
  const p = 'margin:0 0 16px;font:15px/1.5 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#111';
  const facts = message.facts.length
    ? `<dl style="${p}">${message.facts
        .map(([l, v]) => `<dt style="color:#555;font-size:13px">${escapeHtml(l)}</dt><dd style="margin:0 0 8px">${escapeHtml(v)}</dd>`)
        .join('')}</dl>`
    : '';
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${escapeHtml(message.subject)}</title></head><body style="margin:0;padding:24px;background:#fff">`,
    '<div style="max-width:560px;margin:0 auto">',
    `<p style="${p};font-weight:600">${escapeHtml(message.headline)}</p>`,
    facts,
    ...message.notes.map((n) => `<p style="${p}">${escapeHtml(n)}</p>`),
    message.action
      ? `<p style="${p}"><a href="${escapeHtml(message.action.url)}" style="color:#fff;background:#1d4ed8;padding:10px 16px;border-radius:4px;text-decoration:none;display:inline-block">${escapeHtml(message.action.label)}</a></p>`
      : '',
    `<p style="${p};font-size:12px;color:#666;border-top:1px solid #ddd;padding-top:12px">${escapeHtml(footer.reason)}`,
    footer.preferencesUrl
      ? ` <a href="${escapeHtml(footer.preferencesUrl)}" style="color:#666">Change what you receive or unsubscribe</a>.`
      : '',
    '</p></div></body></html>',
  ].join('');
  return { subject: message.subject, text, html };
}

/** Why a recipient receives a category, for the footer. */
export const reasonFor = (category: EmailCategory, tenantName: string): string =>
  category === 'operations'
    ? 'You receive this as a Meterline operator.'
    : `You receive ${category} mail for ${tenantName} from Meterline.`;

/** When a failed attempt is tried again (webhook deliveries' backoff over 24 hours), or undefined when the series is over. */
export function nextEmailAttempt(
  attempt: number,
  seriesStart: number,
  now: number,
  baseSeconds: number,
  jitter: number,
): number | undefined {
  const delay = retryDelaySeconds(attempt, seriesStart, now, baseSeconds, jitter);
  return delay === undefined ? undefined : now + delay * 1000;
}
