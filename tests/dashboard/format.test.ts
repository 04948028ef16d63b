import { describe, expect, it } from 'vitest';
import { plural, withUnit } from '../../dashboard/src/format.js';

describe('units as the dashboard writes them', () => {
  it('pluralizes words and leaves symbols and abbreviations alone', () => {
    expect(withUnit('0', 's')).toBe('0 s');
    expect(withUnit('12', 'ms')).toBe('12 ms');
    expect(withUnit('45.5', 'GB')).toBe('45.5 GB');
    expect(withUnit('2', 'order')).toBe('2 orders');
    expect(plural('job', '1')).toBe('job');
    expect(plural('box', '3')).toBe('boxes');
    expect(plural('query', '3')).toBe('queries');
  });
});
