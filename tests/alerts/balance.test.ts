import { describe, expect, it } from 'vitest';
import { alertDefinitionSchema, crossedRules, firingEvent, type ThresholdAlert } from '../../shared/alerts/rules.js';
import { periodSnapshot } from '../../shared/alerts/snapshot.js';
import { domainEventSchemas } from '../../shared/events/domain-events.js';
import { jobsPlan, MARCH, t, world } from '../billing/credit-world.js';

const rule = (id: string, below: string): ThresholdAlert => ({ id, tenantId: 'acme', kind: 'balance', below, createdAt: '' });

describe('balance alert rules', () => {
  it('take a non-negative amount, and need no meter', () => {
    expect(alertDefinitionSchema.parse({ kind: 'balance', below: '20.00' })).toEqual({ kind: 'balance', below: '20.00' });
    expect(alertDefinitionSchema.parse({ kind: 'balance', below: '0' })).toEqual({ kind: 'balance', below: '0' });
    expect(alertDefinitionSchema.safeParse({ kind: 'balance', below: '-1' }).success).toBe(false);
    expect(alertDefinitionSchema.safeParse({ kind: 'balance', below: '5', meter: 'ai_jobs' }).success).toBe(false);
  });

  it('cross when the live balance falls to their amount or under it, hand-computed through the credit ledger', async () => {
    // $100 granted; 45 jobs at $2.00 by March 10 burn $90: $10.00 left on March 11.
    const w = world([jobsPlan], [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 45 }]);
    w.grant('g_100', { amount: '100', source: 'purchased' });
    const rules = [rule('low-50', '50'), rule('low-10', '10.00'), rule('empty', '0')];
    const reads = {
      billing: w.reads,
      quotaReads: { quantity: async () => '0', level: async () => '0' },
      subscription: async () => w.sub,
      quotas: async () => [],
      credits: async () => ({ grants: w.grants, entries: w.ledger }),
    };
    const before = await periodSnapshot(reads, 'acme', rules, [], t('2026-03-09T00:00:00Z'));
    expect(before.balance).toEqual({ currency: 'USD', value: '100.00' });
    expect(crossedRules(rules, before)).toEqual([]);

    const after = await periodSnapshot(reads, 'acme', rules, [], t('2026-03-11T00:00:00Z'));
    expect(after.balance).toEqual({ currency: 'USD', value: '10.00' });
    const crossed = crossedRules(rules, after);
    expect(crossed.map((c) => [c.alert.id, c.value, c.threshold])).toEqual([
      ['low-50', '10.00', '50'],
      ['low-10', '10.00', '10.00'],
    ]);

    const firing = {
      alertId: 'low-10',
      period: '2026-03-01T00:00:00.000Z',
      value: '10.00',
      threshold: '10.00',
      firedAt: '2026-03-11T00:00:00.000Z',
    };
    const event = firingEvent('acme', rules[1], firing, MARCH, 'USD');
    expect(event).toMatchObject({
      type: 'credits.balance_low',
      id: 'credits.balance_low:acme:low-10:2026-03-01T00:00:00.000Z',
      data: { alertId: 'low-10', threshold: '10.00', value: '10.00', currency: 'USD' },
    });
    expect(domainEventSchemas['credits.balance_low'].safeParse(event.data).success).toBe(true);
  });
});
