import { dateTime } from '../format.js';
import { useApi } from '../hooks.js';
import { Empty, Load, Page } from '../ui.js';

interface MailList {
  messages: { id: string; receivedAt: string; from: string; to: string; subject: string; attachments: number }[];
}

interface Mail {
  id: string;
  receivedAt: string;
  from: string;
  to: string;
  subject: string;
  headers: Record<string, string>;
  text: string;
  html: string;
  attachments: { filename: string; contentType: string; size: number }[];
}

/**
 * The local mailbox: every mail the system sent while running on this machine, as the local SMTP server took it
 * (`npm start` only; in AWS mail goes out through SES and this page has nothing to show).
 */
export function Mailbox({ id }: { id?: string }) {
  const list = useApi<MailList>('/_local/mailbox');
  return (
    <Page
      title="Mailbox"
      actions={
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      }
    >
      <p class="muted">Mail the local stack sent, captured by its SMTP server instead of being delivered.</p>
      <Load state={list} what="the mailbox">
        {(data) =>
          data.messages.length === 0 ? (
            <Empty>No mail yet.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Received</th>
                  <th>To</th>
                  <th>Subject</th>
                  <th>Attachments</th>
                </tr>
              </thead>
              <tbody>
                {data.messages.map((m) => (
                  <tr aria-current={m.id === id ? 'true' : undefined}>
                    <td>{dateTime(m.receivedAt)}</td>
                    <td>{m.to}</td>
                    <td>
                      <a href={`#/mailbox/${m.id}`}>{m.subject}</a>
                    </td>
                    <td>{m.attachments || ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Load>
      {id && <Message id={id} />}
    </Page>
  );
}

function Message({ id }: { id: string }) {
  const mail = useApi<Mail>(`/_local/mailbox/${id}`);
  return (
    <Load state={mail} what="the message">
      {(m) => (
        <section aria-label="Message">
          <h2>{m.subject}</h2>
          <dl>
            <dt>From</dt>
            <dd>{m.from}</dd>
            <dt>To</dt>
            <dd>{m.to}</dd>
            <dt>Received</dt>
            <dd>{dateTime(m.receivedAt)}</dd>
          </dl>
          <h3>HTML part</h3>
          {/* No scripts, no same-origin: the mail is shown as a mail client would, apart from this page. */}
          <iframe title="HTML part" sandbox="" srcdoc={m.html} style="width:100%;height:420px;border:1px solid #ddd" />
          <h3>Text part</h3>
          <pre style="white-space:pre-wrap">{m.text}</pre>
          {m.attachments.length > 0 && (
            <>
              <h3>Attachments</h3>
              <ul>
                {m.attachments.map((a, i) => (
                  <li>
                    <a href={`/_local/mailbox/${m.id}/attachments/${i}`} download={a.filename}>
                      {a.filename}
                    </a>{' '}
                    <span class="muted">
                      {a.contentType}, {Math.ceil(a.size / 1024)} KB
                    </span>
                  </li>
                ))}
              </ul>
            </>
          )}
          <details>
            <summary>Headers</summary>
            <pre style="white-space:pre-wrap">
              {Object.entries(m.headers)
                .map(([k, v]) => `${k}: ${v}`)
                .join('\n')}
            </pre>
          </details>
        </section>
      )}
    </Load>
  );
}
