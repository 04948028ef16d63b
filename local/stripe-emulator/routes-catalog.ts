import { wholeOrNull } from './billing.js';
import { found, invalid } from './errors.js';
import { fixture, list, stripeId } from './fixtures.js';
import { parseForm, record, text } from './form.js';
import type { Emulation, Route } from './routes.js';

/** Products and prices. */
export function catalogRoutes(x: Emulation): Route[] {
  const { products, prices, meters } = x.store;
  const { seconds } = x;
  return [
    [
      'POST',
      /^\/v1\/products$/,
      ({ form }) => {
        const id = text(form, 'id') ?? stripeId('prod');
        if (products.has(id)) throw invalid(`Product already exists.`, 'id', 'resource_already_exists');
        const product = fixture('product', {
          id,
          created: seconds(),
          updated: seconds(),
          name: text(form, 'name') ?? 'product',
          description: null,
          default_price: null,
          package_dimensions: null,
          type: 'service',
          metadata: record(form, 'metadata'),
        });
        products.set(product.id, product);
        return [200, product];
      },
    ],
    ['GET', /^\/v1\/products\/([\w-]+)$/, ({ path }) => [200, found(products, 'product', path.split('/')[3]!)]],
    [
      'GET',
      /^\/v1\/prices$/,
      ({ query }) => {
        const filter = parseForm(query.toString());
        const lookupKeys = Array.isArray(filter.lookup_keys) ? filter.lookup_keys : [];
        const active = text(filter, 'active');
        const matching = [...prices.values()].filter(
          (p) => (lookupKeys.length === 0 || lookupKeys.includes(p.lookup_key)) && (active === undefined || String(p.active) === active),
        );
        return [200, list(matching, '/v1/prices')];
      },
    ],
    [
      'POST',
      /^\/v1\/prices$/,
      ({ form }) => {
        const recurring = record(form, 'recurring');
        const product = found(products, 'product', text(form, 'product') ?? '');
        const meter = text(recurring, 'meter');
        if (meter) found(meters, 'billing.meter', meter);
        const lookupKey = text(form, 'lookup_key') ?? null;
        const holder = lookupKey === null ? undefined : [...prices.values()].find((p) => p.lookup_key === lookupKey);
        if (holder && text(form, 'transfer_lookup_key') !== 'true') {
          throw invalid(`A price (\`${holder.id}\`) already uses that lookup key.`, 'lookup_key');
        }
        if (holder) holder.lookup_key = null;
        const tiered = text(form, 'billing_scheme') === 'tiered';
        const tiers = (Array.isArray(form.tiers) ? form.tiers : []).map((t) => {
          const upTo = text(t, 'up_to');
          const unit = text(t, 'unit_amount_decimal') ?? text(t, 'unit_amount') ?? '0';
          const flat = text(t, 'flat_amount_decimal') ?? text(t, 'flat_amount') ?? '0';
          return {
            up_to: upTo === 'inf' || upTo === undefined ? null : Number(upTo),
            unit_amount: wholeOrNull(unit),
            unit_amount_decimal: unit,
            flat_amount: wholeOrNull(flat),
            flat_amount_decimal: flat,
          };
        });
        if (tiered && (tiers.length === 0 || tiers.at(-1)!.up_to !== null))
          throw invalid('Tiers must end with a tier whose up_to is inf.', 'tiers');
        const transform = record(form, 'transform_quantity');
        const unitAmountDecimal = tiered ? null : (text(form, 'unit_amount_decimal') ?? text(form, 'unit_amount') ?? '0');
        const price = fixture('price', {
          id: stripeId('price'),
          created: seconds(),
          currency: text(form, 'currency') ?? 'usd',
          product: product.id,
          lookup_key: lookupKey,
          nickname: text(form, 'nickname') ?? null,
          metadata: record(form, 'metadata'),
          billing_scheme: tiered ? 'tiered' : 'per_unit',
          tiers_mode: tiered ? (text(form, 'tiers_mode') ?? null) : null,
          // Stripe leaves tiers out unless expanded; the emulator always shows them (it keeps no expansion state).
          ...(tiered ? { tiers } : {}),
          recurring: {
            interval: text(recurring, 'interval') ?? 'month',
            interval_count: 1,
            meter: meter ?? null,
            usage_type: text(recurring, 'usage_type') ?? 'licensed',
            trial_period_days: null,
          },
          transform_quantity: text(transform, 'divide_by')
            ? { divide_by: Number(text(transform, 'divide_by')), round: text(transform, 'round') ?? 'down' }
            : null,
          unit_amount: unitAmountDecimal === null ? null : wholeOrNull(unitAmountDecimal),
          unit_amount_decimal: unitAmountDecimal,
        });
        prices.set(price.id, price);
        return [200, price];
      },
    ],
    ['GET', /^\/v1\/prices\/(\w+)$/, ({ path }) => [200, found(prices, 'price', path.split('/')[3]!)]],
  ];
}
