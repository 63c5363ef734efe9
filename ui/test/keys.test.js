import { describe, it, expect } from 'vitest';
import { limitsBody, describeLimits } from '../src/lib/keys.js';

describe('client key limits', () => {
  it('turns the form into the API body, empty fields being no limit', () => {
    expect(limitsBody({})).toEqual({ limits: {} });
    expect(
      limitsBody({ rpm: ' 2 ', rpd: '', tpm: '1000', budget: '5', period: 'week', models: 'gemini-2.5-pro, gpt-*,', expires: '2027-01-31' }),
    ).toEqual({
      limits: { rpm: 2, tpm: 1000, budget_usd: 5, period: 'week', models: ['gemini-2.5-pro', 'gpt-*'], expires: '2027-01-31' },
    });
    expect(limitsBody({ rpm: '2.5' })).toEqual({ error: 'proxy.keys.err.whole' });
    expect(limitsBody({ budget: '-1' })).toEqual({ error: 'proxy.keys.err.budget' });
    expect(limitsBody({ expires: '31/01/2027' })).toEqual({ error: 'proxy.keys.err.expires' });
    expect(limitsBody({ period: 'week' })).toEqual({ limits: {} });
  });

  it('says a key\'s limits in a few words', () => {
    expect(describeLimits({})).toBe('');
    expect(describeLimits({ rpm: 2, budget_usd: 5, models: ['a', 'b'] })).toBe('2 req/min · $5.00/month · a, b');
  });
});
