import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { OutgoingMail } from '../ports.js';

/** The message as nodemailer composes it: multipart/alternative (text, HTML), mixed with attachments. */
export const mailOptions = (mail: OutgoingMail) => ({
  from: mail.from,
  to: mail.to,
  subject: mail.subject,
  text: mail.text,
  html: mail.html,
  headers: mail.headers,
  attachments: mail.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
});

/** The raw MIME bytes of a message (what SES's raw content takes). */
export function rawMessage(mail: OutgoingMail): Promise<Buffer> {
  return new MailComposer(mailOptions(mail)).compile().build();
}
