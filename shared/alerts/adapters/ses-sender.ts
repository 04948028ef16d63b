import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { MailSender, OutgoingMail } from '../ports.js';
import { rawMessage } from './mime.js';

/**
 * Sends through Amazon SES (API v2) as raw MIME, so the message carries both parts, its attachments and its
 * List-Unsubscribe headers as composed; the configuration set publishes its bounces and complaints to
 * EventBridge, where the email worker turns them into suppressions. SES takes at most 40 MB per message.
 */
export class SesSender implements MailSender {
  constructor(
    private readonly client: SESv2Client,
    private readonly configurationSet: string,
  ) {}

  async send(mail: OutgoingMail): Promise<string> {
    const r = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: mail.from,
        Destination: { ToAddresses: [mail.to] },
        Content: { Raw: { Data: await rawMessage(mail) } },
        ConfigurationSetName: this.configurationSet,
      }),
    );
    return r.MessageId ?? '';
  }
}
