import type { DomainEvent } from '../events/domain-events.js';
import type { Email, EmailAttempt, EmailStatus, EmailWork, Recipient } from './email.js';
import type { EpisodeRecord, Watch } from './episodes.js';
import type { Alert, AlertFiring } from './rules.js';
import type { Delivery, DeliveryAttempt, DeliveryMessage, WebhookEndpoint } from './webhooks.js';

/** Alert rules and their firings; ./adapters/alert-store.ts implements it. */
export interface AlertStore {
  putAlert(alert: Alert): Promise<void>;
  /** Writes the rule unless one with its id exists; false when it existed. */
  createAlert(alert: Alert): Promise<boolean>;
  listAlerts(tenantId: string): Promise<Alert[]>;
  /** False when the tenant has no such alert. */
  deleteAlert(tenantId: string, alertId: string): Promise<boolean>;
  /** The firings of one period (its start, ISO 8601), or of every period when `period` is absent. */
  firings(tenantId: string, period?: string): Promise<AlertFiring[]>;
  /** Records a firing once per alert and period; false when it was already recorded. */
  recordFiring(tenantId: string, firing: AlertFiring): Promise<boolean>;
  markNotified(tenantId: string, firing: AlertFiring, at: string): Promise<void>;
  /** What the tenant's anomaly and silence rules have seen (./episodes.ts). */
  watches(tenantId: string): Promise<Watch[]>;
  /** Writes a watch whose `version` is one above the stored one's (or 1 for a new one); false when another run's write came first. */
  saveWatch(tenantId: string, watch: Watch): Promise<boolean>;
  /** The tenant's newest episodes, newest first. */
  episodes(tenantId: string, limit: number): Promise<EpisodeRecord[]>;
}

/** Tenant webhook endpoints and the delivery log; ./adapters/webhook-store.ts implements it. */
export interface WebhookStore {
  putEndpoint(endpoint: WebhookEndpoint): Promise<void>;
  getEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | undefined>;
  listEndpoints(tenantId: string): Promise<WebhookEndpoint[]>;
  deleteEndpoint(tenantId: string, id: string): Promise<boolean>;
  /** Writes the delivery unless it exists; returns the stored one. */
  createDelivery(delivery: Delivery): Promise<Delivery>;
  getDelivery(tenantId: string, id: string): Promise<Delivery | undefined>;
  /** An endpoint's deliveries, newest first, a page at a time. */
  listDeliveries(
    tenantId: string,
    endpointId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ deliveries: Delivery[]; cursor?: string }>;
  recordAttempt(
    tenantId: string,
    id: string,
    attempt: DeliveryAttempt,
    outcome: { status: Delivery['status']; nextAttemptAt?: string },
  ): Promise<void>;
  /** Makes a delivery pending again (a replay); undefined when it does not exist. */
  reopenDelivery(tenantId: string, id: string): Promise<Delivery | undefined>;
}

/** The webhook delivery queue (./adapters/delivery-queue.ts): `delaySeconds` at most 900, SQS's limit. */
export interface DeliveryQueue {
  send(message: DeliveryMessage, delaySeconds: number): Promise<void>;
}

/** The event bus (./adapters/event-bus.ts). */
export interface EventBus {
  put(event: DomainEvent): Promise<void>;
}

/** A tenant's email recipients, the email log and the suppression list; ./adapters/email-store.ts implements it. */
export interface EmailStore {
  listRecipients(tenantId: string): Promise<Recipient[]>;
  getRecipient(tenantId: string, address: string): Promise<Recipient | undefined>;
  putRecipient(recipient: Recipient): Promise<void>;
  deleteRecipient(tenantId: string, address: string): Promise<boolean>;
  /** Writes the email unless one with its id exists (the idempotency key); returns the stored one. */
  createEmail(email: Email): Promise<Email>;
  getEmail(tenantId: string, id: string): Promise<Email | undefined>;
  /** A tenant's emails, newest first. */
  listEmails(tenantId: string, limit: number): Promise<Email[]>;
  /**
   * Takes a pending email for one attempt until `leaseUntil` (epoch ms): false when it is not pending or another
   * worker holds it, so two copies of one queue message never both send.
   */
  claimEmail(tenantId: string, id: string, now: number, leaseUntil: number): Promise<boolean>;
  recordEmailAttempt(
    tenantId: string,
    id: string,
    attempt: EmailAttempt,
    outcome: { status: EmailStatus; nextAttemptAt?: string },
  ): Promise<void>;
  /** Stops all sending to an address (a hard bounce or a complaint). */
  suppress(address: string, reason: string, at: string): Promise<void>;
  suppressed(address: string): Promise<{ reason: string; at: string } | undefined>;
}

/** One message as the sender hands it on: addressed, both parts, attachments and extra headers. */
export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  attachments: { filename: string; contentType: string; content: Buffer }[];
}

/** Sends one message: Amazon SES (./adapters/ses-sender.ts) or SMTP (./adapters/smtp-sender.ts). Answers the service's message id. */
export interface MailSender {
  send(mail: OutgoingMail): Promise<string>;
}

/** The email queue (./adapters/delivery-queue.ts): an email attempt due later, `delaySeconds` at most 900. */
export interface EmailQueue {
  send(message: EmailWork, delaySeconds: number): Promise<void>;
}
