import type { ServerResponse } from 'node:http';
import type { StripeObject } from './fixtures.js';

/** The page a portal session's URL opens: who it is for and the way back, as Stripe's portal offers. */
export function portalPage(res: ServerResponse, session: StripeObject | undefined, customers: ReadonlyMap<string, StripeObject>): void {
  const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  if (!session) {
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Session expired</title><p>This customer portal session is not valid.</p>');
    return;
  }
  const customer = customers.get(session.customer);
  const back = session.return_url ? `<p><a id="return" href="${esc(session.return_url)}">Return to Meterline</a></p>` : '';
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Customer portal</title></head><body>
<h1>Customer portal (local Stripe emulator)</h1>
<p>Manage the plan and payment methods of <strong>${esc(String(customer?.name ?? session.customer))}</strong> (${esc(session.customer)}).</p>
${back}</body></html>`);
}
