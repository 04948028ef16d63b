import { WINDOW_FUTURE_S, WINDOW_PAST_S } from './billing.js';
import { found, invalid } from './errors.js';
import { fixture, list, stripeId } from './fixtures.js';
import { record, text } from './form.js';
import type { Emulation, Route } from './routes.js';

/** Billing meters, meter events (unique identifiers, the 35-day / 5-minute window) and meter error reports (thin v2 events). */
export function meterRoutes(x: Emulation): Route[] {
  const { meters, meterEvents, identifiers, thinEvents } = x.store;
  const { seconds } = x;
  return [
    [
      'GET',
      /^\/v1\/billing\/meters$/,
      ({ query }) => {
        const status = query.get('status');
        return [
          200,
          list(
            [...meters.values()].filter((m) => !status || m.status === status),
            '/v1/billing/meters',
          ),
        ];
      },
    ],
    [
      'POST',
      /^\/v1\/billing\/meters$/,
      ({ form }) => {
        const eventName = text(form, 'event_name');
        const formula = text(record(form, 'default_aggregation'), 'formula');
        if (!eventName) throw invalid('Missing required param: event_name.', 'event_name');
        if (!formula || !['sum', 'count', 'last'].includes(formula))
          throw invalid('Invalid default_aggregation[formula].', 'default_aggregation[formula]');
        if ([...meters.values()].some((m) => m.event_name === eventName && m.status === 'active')) {
          throw invalid(`A meter with event_name ${eventName} already exists.`, 'event_name');
        }
        const mapping = record(form, 'customer_mapping');
        const value = record(form, 'value_settings');
        const meter = fixture('billing.meter', {
          id: stripeId('mtr'),
          created: seconds(),
          updated: seconds(),
          display_name: text(form, 'display_name') ?? eventName,
          event_name: eventName,
          default_aggregation: { formula },
          customer_mapping: { event_payload_key: text(mapping, 'event_payload_key') ?? 'stripe_customer_id', type: 'by_id' },
          value_settings: { event_payload_key: text(value, 'event_payload_key') ?? 'value' },
          event_time_window: text(form, 'event_time_window') ?? null,
        });
        meters.set(meter.id, meter);
        return [200, meter];
      },
    ],
    ['GET', /^\/v1\/billing\/meters\/(\w+)$/, ({ path }) => [200, found(meters, 'billing.meter', path.split('/')[4]!)]],
    [
      'POST',
      /^\/v1\/billing\/meter_events$/,
      ({ form }) => {
        const eventName = text(form, 'event_name');
        const payload = record(form, 'payload') as Record<string, string>;
        if (!eventName) throw invalid('Missing required param: event_name.', 'event_name');
        const identifier = text(form, 'identifier') ?? stripeId('mev');
        if (identifiers.has(identifier)) throw invalid(`An event already exists with identifier ${identifier}.`, 'identifier');
        const timestamp = Number(text(form, 'timestamp') ?? seconds());
        if (timestamp < seconds() - WINDOW_PAST_S)
          throw invalid('Timestamp must be within the past 35 calendar days.', 'timestamp', 'timestamp_too_far_in_past');
        if (timestamp > seconds() + WINDOW_FUTURE_S)
          throw invalid('Timestamp must not be more than 5 minutes in the future.', 'timestamp', 'timestamp_in_future');
        const event = fixture('billing.meter_event', { created: seconds(), event_name: eventName, identifier, payload, timestamp });
        identifiers.add(identifier);
        meterEvents.push(event);
        return [200, event];
      },
    ],
    ['GET', /^\/v2\/core\/events\/(\w+)$/, ({ path }) => [200, found(thinEvents, 'event', path.split('/')[4]!)]],
  ];
}
