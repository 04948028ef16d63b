import { createTransport } from 'nodemailer';
import type { MailSender, OutgoingMail } from '../ports.js';
import { mailOptions } from './mime.js';

/** Sends over SMTP (`smtp://host:port`): the local capturing server, or any relay a deployment prefers to SES. */
export class SmtpSender implements MailSender {
  private readonly transport;

  constructor(url: string) {
    this.transport = createTransport(url);
  }

  async send(mail: OutgoingMail): Promise<string> {
    const info = await this.transport.sendMail(mailOptions(mail));
    return info.messageId;
  }
}
