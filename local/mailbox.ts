import { randomUUID } from 'node:crypto';
import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './net.js';

/** A message the local SMTP server took, parsed: what a mail client would show. */
export interface CapturedMail {
  id: string;
  receivedAt: string;
  /** The SMTP envelope's recipients (the addresses it was actually sent to). */
  envelopeTo: string[];
  from: string;
  to: string;
  subject: string;
  headers: Record<string, string>;
  text: string;
  html: string;
  attachments: { filename: string; contentType: string; size: number; content: Buffer }[];
  /** The message as received, MIME and all. */
  raw: Buffer;
}

export interface Mailbox {
  /** `smtp://127.0.0.1:<port>`, for nodemailer. */
  url: string;
  messages: CapturedMail[];
  stop(): Promise<void>;
}

const addressText = (a: AddressObject | AddressObject[] | undefined) =>
  Array.isArray(a) ? a.map((x) => x.text).join(', ') : (a?.text ?? '');

/**
 * A real SMTP server on localhost that keeps every message it is sent, in memory (the newest first), instead of
 * relaying it: the local stand-in for SES, so a person can read every mail the system would send (the operator
 * console's Mailbox) and tests can read them at the SMTP level. No TLS and no authentication: it listens on 127.0.0.1 only.
 */
export async function startMailbox(): Promise<Mailbox> {
  const messages: CapturedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // SES's own limit for a message (API v2 and SMTP), so a message too large for SES is refused here too.
    size: 40 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        try {
          const raw = Buffer.concat(chunks);
          const parsed = await simpleParser(raw);
          const headers: Record<string, string> = {};
          for (const line of parsed.headerLines) headers[line.key] = line.line.slice(line.line.indexOf(':') + 1).trim();
          messages.unshift({
            id: randomUUID(),
            receivedAt: new Date().toISOString(),
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            from: addressText(parsed.from),
            to: addressText(parsed.to),
            subject: parsed.subject ?? '',
            headers,
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            attachments: parsed.attachments.map((a) => ({
              filename: a.filename ?? 'attachment',
              contentType: a.contentType,
              size: a.size,
              content: a.content,
            })),
            raw,
          });
          callback();
        } catch (error) {
          callback(error as Error);
        }
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** The mailbox as the console reads it: a list without bodies, or one message with both parts and its attachments' names. */
export function mailboxAnswer(mailbox: Mailbox, path: string): { status: number; type: string; body: Buffer | string } | undefined {
  if (path === '/_local/mailbox')
    return {
      status: 200,
      type: 'application/json',
      body: JSON.stringify({
        messages: mailbox.messages.map(({ id, receivedAt, from, to, subject, attachments }) => ({
          id,
          receivedAt,
          from,
          to,
          subject,
          attachments: attachments.length,
        })),
      }),
    };
  const one = /^\/_local\/mailbox\/([\w-]+)(?:\/attachments\/(\d+))?$/.exec(path);
  const mail = one && mailbox.messages.find((m) => m.id === one[1]);
  if (!mail) return undefined;
  if (one![2] !== undefined) {
    const a = mail.attachments[Number(one![2])];
    return a ? { status: 200, type: a.contentType, body: a.content } : undefined;
  }
  const { raw: _raw, attachments, ...rest } = mail;
  return {
    status: 200,
    type: 'application/json',
    body: JSON.stringify({ ...rest, attachments: attachments.map(({ content: _c, ...a }) => a) }),
  };
}
