import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { SesSender } from '../../shared/alerts/adapters/ses-sender.js';

/** Mail through SES v2 as the raw MIME message composed, under the configuration set that reports bounces. */
describe('the SES sender', () => {
  const ses = mockClient(SESv2Client);
  const sender = new SesSender(new SESv2Client({ region: 'eu-west-1' }), 'meterline-mail');
  afterEach(() => ses.reset());

  const mail = {
    from: 'Meterline <billing@meterline.example>',
    to: 'ops@acme.example',
    subject: 'Invoice INV-0001',
    text: 'Your invoice is attached.',
    html: '<p>Your invoice is attached.</p>',
    headers: { 'List-Unsubscribe': '<https://meterline.example/unsubscribe>' },
    attachments: [{ filename: 'INV-0001.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.7') }],
  };

  it('sends the whole message raw, with its parts, headers and attachment, and answers SES’s message id', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    expect(await sender.send(mail)).toBe('ses-1');

    const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      FromEmailAddress: mail.from,
      Destination: { ToAddresses: [mail.to] },
      ConfigurationSetName: 'meterline-mail',
    });
    const raw = Buffer.from(input.Content!.Raw!.Data!);
    expect(raw.toString()).toContain('List-Unsubscribe: <https://meterline.example/unsubscribe>');
    const sent = await simpleParser(raw);
    expect(sent.subject).toBe('Invoice INV-0001');
    expect(sent.text?.trim()).toBe('Your invoice is attached.');
    expect(sent.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([
      ['INV-0001.pdf', 'application/pdf', '%PDF-1.7'],
    ]);
  });

  it('answers an empty id when SES names none, and passes on its refusal', async () => {
    ses.on(SendEmailCommand).resolvesOnce({}).rejectsOnce(new Error('Email address is not verified'));
    expect(await sender.send(mail)).toBe('');
    await expect(sender.send(mail)).rejects.toThrow('not verified');
  });
});
