import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type EmailCategory, type LinkPurpose, tenantCategories, verifyLink } from '../../shared/alerts/email.js';
import type { EmailStore } from '../../shared/alerts/ports.js';
import { type HttpEvent, type HttpResult, rawBody } from '../../shared/platform/http.js';
import { logger } from '../../shared/platform/observability.js';

export interface EmailLinksDependencies {
  store: Pick<EmailStore, 'getRecipient' | 'putRecipient'>;
  linkKey(): Promise<Buffer>;
  now(): number;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const categoryNames: Record<string, string> = {
  billing: 'Billing: invoices, failed payments, spend alerts',
  usage: 'Usage: thresholds, quotas, anomalies, silence',
};

function page(statusCode: number, title: string, body: string): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
    body: `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body style="font:16px/1.5 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:520px;margin:40px auto;padding:0 16px"><h1 style="font-size:20px">${escapeHtml(title)}</h1>${body}</body></html>`,
  };
}

const refused = () =>
  page(400, 'This link does not work', '<p>It is not one Meterline sent, or it has expired. Ask for a new one from the dashboard.</p>');

/**
 * The links in Meterline's mail, at a function URL, without a login: each carries a token the email worker signed
 * for one recipient and purpose. `GET /verify` confirms an address; `GET /preferences` shows what it receives and
 * `POST /preferences` changes it; `POST /unsubscribe` is RFC 8058's one-click unsubscribe from one category (mail
 * clients POST it), and its GET shows a button, since link scanners follow GETs.
 */
export function createEmailLinks(deps: EmailLinksDependencies) {
  return middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const method = event.requestContext.http.method;
      const path = event.rawPath;
      const form = method === 'POST' ? new URLSearchParams(rawBody(event).toString('utf8')) : new URLSearchParams();
      const params = new URLSearchParams(event.rawQueryString);
      const token = params.get('token') ?? form.get('token') ?? '';
      const claims = async (purpose: LinkPurpose) => verifyLink(await deps.linkKey(), token, purpose, deps.now());
      const at = new Date(deps.now()).toISOString();

      if (path === '/verify' && method === 'GET') {
        const c = await claims('verify');
        const recipient = c && (await deps.store.getRecipient(c.tenantId, c.address));
        if (!recipient) return refused();
        if (!recipient.verifiedAt) await deps.store.putRecipient({ ...recipient, verifiedAt: at });
        return page(200, 'Address confirmed', `<p>${escapeHtml(recipient.address)} now receives Meterline mail.</p>`);
      }
      if (path === '/preferences' || path === '/unsubscribe') {
        const c = await claims('preferences');
        const recipient = c && (await deps.store.getRecipient(c.tenantId, c.address));
        if (!recipient) return refused();
        const back = `?token=${encodeURIComponent(token)}`;
        if (path === '/unsubscribe') {
          const category = params.get('category') ?? '';
          if (!(tenantCategories as readonly string[]).includes(category)) return refused();
          if (method === 'POST') {
            await deps.store.putRecipient({ ...recipient, categories: recipient.categories.filter((x) => x !== category) });
            return page(
              200,
              'Unsubscribed',
              `<p>${escapeHtml(recipient.address)} no longer receives ${category} mail. <a href="preferences${back}">Preferences</a></p>`,
            );
          }
          return page(
            200,
            `Unsubscribe from ${category} mail?`,
            `<form method="post" action="unsubscribe${back}&amp;category=${category}"><button>Unsubscribe ${escapeHtml(recipient.address)}</button></form>`,
          );
        }
        let current = recipient;
        if (method === 'POST') {
          const chosen = form.getAll('category').filter((x): x is EmailCategory => (tenantCategories as readonly string[]).includes(x));
          current = { ...recipient, categories: chosen };
          await deps.store.putRecipient(current);
        }
        const boxes = tenantCategories
          .map(
            (x) =>
              `<p><label><input type="checkbox" name="category" value="${x}"${current.categories.includes(x) ? ' checked' : ''}> ${escapeHtml(categoryNames[x]!)}</label></p>`,
          )
          .join('');
        return page(
          200,
          `Mail for ${current.address}`,
          `${method === 'POST' ? '<p><strong>Saved.</strong></p>' : ''}<form method="post" action="preferences${back}">${boxes}<button>Save</button></form><p>Clear both to receive nothing.</p>`,
        );
      }
      return page(404, 'Not found', '<p>No such page.</p>');
    });
}
