import { randomBytes } from 'node:crypto';
import { found, invalid } from './errors.js';
import { fixture, stripeId } from './fixtures.js';
import { record, text } from './form.js';
import type { Emulation, Route } from './routes.js';

/** Customers and customer portal sessions. */
export function customerRoutes(x: Emulation): Route[] {
  const { customers, portalSessions } = x.store;
  const { seconds, port } = x;
  return [
    [
      'POST',
      /^\/v1\/customers$/,
      ({ form }) => {
        const customer = fixture('customer', {
          id: stripeId('cus'),
          created: seconds(),
          discount: null,
          name: text(form, 'name') ?? null,
          email: text(form, 'email') ?? null,
          metadata: record(form, 'metadata'),
        });
        customers.set(customer.id, customer);
        return [200, customer];
      },
    ],
    // The customer portal: a session's URL opens a page standing in for Stripe's hosted portal.
    [
      'POST',
      /^\/v1\/billing_portal\/sessions$/,
      ({ form }) => {
        const customer = text(form, 'customer');
        if (!customer) throw invalid('Missing required param: customer.', 'customer');
        found(customers, 'customer', customer);
        const secret = randomBytes(24).toString('base64url');
        const session = fixture('billing_portal.session', {
          id: stripeId('bps'),
          created: seconds(),
          customer,
          configuration: 'bpc_meterline_local',
          flow: null,
          locale: text(form, 'locale') ?? null,
          return_url: text(form, 'return_url') ?? null,
          url: `http://127.0.0.1:${port}/p/session/${secret}`,
        });
        portalSessions.set(secret, session);
        return [200, session];
      },
    ],
    ['GET', /^\/v1\/customers\/([\w]+)$/, ({ path }) => [200, found(customers, 'customer', path.split('/')[3]!)]],
  ];
}
