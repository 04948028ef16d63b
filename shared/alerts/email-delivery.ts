import type { DomainEvent } from '../events/domain-events.js';
import {
  addressesFor,
  audienceOf,
  type Email,
  type EmailAttempt,
  type EmailWork,
  emailIdOf,
  eventMessage,
  type LinkPurpose,
  nextEmailAttempt,
  reasonFor,
  render,
  verificationMessage,
} from './email.js';
import type { EmailQueue, EmailStore, MailSender, OutgoingMail } from './ports.js';
import { queueDelaySeconds } from './webhooks.js';

export interface EmailPorts {
  store: EmailStore;
  queue: EmailQueue;
  sender: MailSender;
  /** The From address (a verified SES identity in AWS). */
  from: string;
  /** The operators' addresses. */
  operators: readonly string[];
  tenantName(tenantId: string): Promise<string>;
  dashboardUrl: string;
  /** A signed link for a recipient (./email.ts `signLink`) under the links function's URL. */
  link(purpose: LinkPurpose | 'unsubscribe', tenantId: string, address: string, category?: string): Promise<string>;
  /** What a message about `event` carries attached (the invoice's PDF for `invoice.issued`). */
  attachments(event: DomainEvent): Promise<OutgoingMail['attachments']>;
  retryBaseSeconds: number;
  now(): number;
  random(): number;
}

/** How long one worker holds an email it is sending before another may try it (a crashed worker's email). */
const LEASE_MS = 5 * 60_000;

export type EmailOutcome = 'waiting' | 'skipped' | 'sent' | 'suppressed' | 'retrying' | 'failed';

/**
 * A domain event from the bus becomes one email per recipient, each written once under its idempotency key and
 * then attempted. The same event again (a job that announced it twice, the bus delivering it twice) finds its
 * emails written and sends only what is still pending.
 */
export async function mailEvent(ports: EmailPorts, event: DomainEvent): Promise<EmailOutcome[]> {
  const audience = audienceOf(event.type);
  if (!audience) return [];
  const recipients = audience.category === 'operations' ? [] : await ports.store.listRecipients(event.tenantId);
  const outcomes: EmailOutcome[] = [];
  for (const to of addressesFor(audience, recipients, ports.operators)) {
    const now = new Date(ports.now()).toISOString();
    const email = await ports.store.createEmail({
      id: emailIdOf(event.id, to),
      tenantId: event.tenantId,
      to,
      subject: { kind: 'event', event },
      status: 'pending',
      attempts: [],
      createdAt: now,
    });
    outcomes.push(await workEmail(ports, { tenantId: email.tenantId, emailId: email.id, dueAt: now, seriesStart: now }));
  }
  return outcomes;
}

/**
 * One attempt of one email: not due yet goes back on the queue (at most 15 minutes a hop); otherwise it is claimed
 * (so two copies of a message never both send), checked against the suppression list, rendered, sent, and recorded.
 * A failed send is retried with webhook deliveries' backoff for 24 hours, then the email is `failed`.
 *
 * The send and its record are two steps: a worker that crashes between them leaves the email claimed, and after the
 * lease another worker sends it again. That window is the only way a message goes out twice.
 */
export async function workEmail(ports: EmailPorts, work: EmailWork): Promise<EmailOutcome> {
  const now = ports.now();
  const dueAt = Date.parse(work.dueAt);
  if (dueAt > now + 1000) {
    await ports.queue.send(work, queueDelaySeconds(dueAt, now));
    return 'waiting';
  }
  const email = await ports.store.getEmail(work.tenantId, work.emailId);
  if (email?.status !== 'pending') return 'skipped';
  if (!(await ports.store.claimEmail(email.tenantId, email.id, now, now + LEASE_MS))) return 'skipped';
  const at = new Date(now).toISOString();
  const suppressed = await ports.store.suppressed(email.to);
  if (suppressed) {
    await ports.store.recordEmailAttempt(
      email.tenantId,
      email.id,
      { at, error: `suppressed: ${suppressed.reason}` },
      { status: 'suppressed' },
    );
    return 'suppressed';
  }
  let attempt: EmailAttempt;
  try {
    const messageId = await ports.sender.send(await compose(ports, email));
    attempt = { at, messageId };
  } catch (error) {
    attempt = { at, error: error instanceof Error ? error.message : String(error) };
  }
  if (attempt.messageId !== undefined) {
    await ports.store.recordEmailAttempt(email.tenantId, email.id, attempt, { status: 'sent' });
    return 'sent';
  }
  const inSeries = email.attempts.filter((a) => Date.parse(a.at) >= Date.parse(work.seriesStart)).length + 1;
  const next = nextEmailAttempt(inSeries, Date.parse(work.seriesStart), now, ports.retryBaseSeconds, ports.random());
  if (next === undefined) {
    await ports.store.recordEmailAttempt(email.tenantId, email.id, attempt, { status: 'failed' });
    return 'failed';
  }
  const nextAttemptAt = new Date(next).toISOString();
  await ports.store.recordEmailAttempt(email.tenantId, email.id, attempt, { status: 'pending', nextAttemptAt });
  await ports.queue.send({ ...work, dueAt: nextAttemptAt }, queueDelaySeconds(next, ports.now()));
  return 'retrying';
}

/** The message itself: rendered from what it announces, with the recipient's own links. */
async function compose(ports: EmailPorts, email: Email): Promise<OutgoingMail> {
  const tenantName = await ports.tenantName(email.tenantId);
  const ctx = { tenantName, dashboardUrl: ports.dashboardUrl };
  const headers: Record<string, string> = { 'X-Meterline-Email-Id': email.id };
  if (email.subject.kind === 'verification') {
    const verifyUrl = await ports.link('verify', email.tenantId, email.to);
    const reason = `Someone managing ${tenantName}'s Meterline account entered this address.`;
    return {
      from: ports.from,
      to: email.to,
      ...render(verificationMessage(ctx, email.to, verifyUrl), { reason }),
      headers,
      attachments: [],
    };
  }
  const { event } = email.subject;
  const category = audienceOf(event.type)?.category ?? 'usage';
  // Operators are the stack's configuration, not a tenant's recipients: their mail has no tenant preferences to change.
  const operator = category === 'operations' || !(await ports.store.getRecipient(email.tenantId, email.to));
  const footer = operator
    ? { reason: reasonFor('operations', tenantName) }
    : { reason: reasonFor(category, tenantName), preferencesUrl: await ports.link('preferences', email.tenantId, email.to) };
  if (!operator) {
    // RFC 8058 one-click unsubscribe: mail clients POST to this URL, which stops this category for this address.
    headers['List-Unsubscribe'] = `<${await ports.link('unsubscribe', email.tenantId, email.to, category)}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  headers['X-Meterline-Event-Id'] = event.id;
  headers['X-Meterline-Event-Type'] = event.type;
  return {
    from: ports.from,
    to: email.to,
    ...render(eventMessage(event, ctx), footer),
    headers,
    attachments: await ports.attachments(event),
  };
}

/** Writes the verification email for a recipient and queues it; the id is per request, so asking again sends again. */
export async function requestVerification(
  ports: { store: Pick<EmailStore, 'createEmail'>; queue: EmailQueue; now(): number },
  tenantId: string,
  address: string,
): Promise<Email> {
  const now = new Date(ports.now()).toISOString();
  const email = await ports.store.createEmail({
    id: emailIdOf(`verify:${tenantId}:${now}`, address),
    tenantId,
    to: address,
    subject: { kind: 'verification' },
    status: 'pending',
    attempts: [],
    createdAt: now,
  });
  await ports.queue.send({ tenantId, emailId: email.id, dueAt: now, seriesStart: now }, 0);
  return email;
}
