import { randomBytes } from 'node:crypto';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesSender } from '../alerts/adapters/ses-sender.js';
import { SmtpSender } from '../alerts/adapters/smtp-sender.js';
import type { MailSender } from '../alerts/ports.js';
import { required } from '../platform/config.js';

// Sending mail, apart from ./alerts.ts so that functions that never send do not bundle the SES client or nodemailer.

/** SMTP when SMTP_URL is set (the local capturing server), else SES with the stack's configuration set. */
export const mailSender = (): MailSender =>
  process.env.SMTP_URL ? new SmtpSender(process.env.SMTP_URL) : new SesSender(new SESv2Client({}), required('SES_CONFIGURATION_SET'));

/** The operators' addresses: OPERATOR_EMAILS, comma-separated. */
export const operatorAddresses = (): string[] =>
  (process.env.OPERATOR_EMAILS ?? '')
    .split(',')
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean);

/** Without the email-links secret (local runs, tests): this process's own key, so links live as long as the process. */
const processKey = randomBytes(32);

/** The key that signs the links in mails (verification, preferences, unsubscribe): the `email-links` secret in AWS. */
export async function emailLinkKey(): Promise<Buffer> {
  const arn = process.env.EMAIL_LINKS_SECRET_ARN;
  if (!arn) return processKey;
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const secret = await getSecret<string>(arn, { maxAge: 300 });
  if (!secret) throw new Error('the email-links secret in Secrets Manager is empty');
  return Buffer.from(secret, 'utf8');
}
