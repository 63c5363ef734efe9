import { describe, it, expect } from 'vitest';
import { chartSeries, csvRows, pointLabel, cacheHitRate, SHOWN, CSV_COLUMNS } from '../src/lib/usage.js';
import { toCsv } from '../src/lib/csv.js';

const totals = (requests, input, cached = 0, cost = 0) => ({
  requests,
  errors: 0,
  input_tokens: input,
  output_tokens: requests,
  cached_tokens: cached,
  cost_usd: cost,
  saved_usd: 0,
});
const point = (start_ms, split) => ({
  start_ms,
  day: new Date(start_ms).toISOString().slice(0, 10),
  ...split.reduce(
    (s, n) => ({ ...s, requests: s.requests + n.requests, input_tokens: s.input_tokens + n.input_tokens }),
    totals(0, 0)
  ),
  split,
});
const names = { whole: 'All', other: 'Other' };

describe('usage', () => {
  it('draws the whole as one series when nothing is split', () => {
    const points = [point(0, []), { ...point(3_600_000, []), ...totals(4, 100, 25) }];
    expect(chartSeries(points, 'requests', names)).toEqual([{ label: 'All', type: 'bar', tone: 's1', values: [0, 4] }]);
    // A share has no value where there was no input, and is drawn as a line.
    expect(chartSeries(points, 'cache', names)).toEqual([{ label: 'All', type: 'line', tone: 's1', values: [null, 0.25] }]);
  });

  it('names the busiest and sums the rest as other, by the metric shown', () => {
    const many = Array.from({ length: SHOWN + 2 }, (_, i) => ({ name: `k${i}`, ...totals(i + 1, 10 * (SHOWN + 2 - i), i) }));
    const series = chartSeries([point(0, many)], 'requests', names);
    expect(series.map((s) => s.label)).toEqual(['k7', 'k6', 'k5', 'k4', 'k3', 'k2', 'Other']);
    expect(series.at(-1)).toEqual({ label: 'Other', type: 'bar', tone: 'other', values: [1 + 2] });
    expect(series.map((s) => s.tone).slice(0, 2)).toEqual(['s1', 's2']);
    // A ratio ranks by input (where most traffic is), and "other" is its own share, not a sum of shares.
    const cache = chartSeries([point(0, many)], 'cache', names);
    expect(cache[0].label).toBe('k0');
    expect(cache.at(-1).values[0]).toBeCloseTo((6 + 7) / (20 + 10));
  });

  it('leaves a gap for a name absent from a point', () => {
    const series = chartSeries([point(0, [{ name: 'a', ...totals(1, 10, 5) }]), point(1, [{ name: 'b', ...totals(2, 10) }])], 'cache', names);
    expect(series).toEqual([
      // Equal input: by name.
      { label: 'a', type: 'line', tone: 's1', values: [0.5, null] },
      { label: 'b', type: 'line', tone: 's2', values: [null, 0] },
    ]);
  });

  it('labels days by date and hours by local time', () => {
    expect(pointLabel({ day: '2026-12-06', start_ms: 0 }, 'day')).toBe('12-06');
    const ms = new Date(2026, 11, 6, 14).getTime();
    expect(pointLabel({ day: '2026-12-06', start_ms: ms }, 'hour')).toBe('12-06 14:00');
  });

  it('exports one row per period and name, hours in UTC', () => {
    const h = Date.UTC(2026, 11, 6, 14);
    const rows = csvRows([point(h, [{ name: 'k=1', ...totals(2, 10, 4, 0.5) }])], 'hour');
    const csv = toCsv(rows, CSV_COLUMNS).split('\r\n');
    expect(csv[0]).toBe('period,name,requests,errors,input_tokens,output_tokens,cached_tokens,cache_hit_rate,cost_usd,saved_usd');
    expect(csv[1]).toBe('2026-12-06T14:00Z,k=1,2,0,10,2,4,0.4,0.5,0');
    const whole = csvRows([{ ...point(h, []), ...totals(3, 0) }], 'day');
    expect(whole).toHaveLength(1);
    expect(whole[0].period).toBe('2026-12-06');
    expect(whole[0].cache_hit_rate).toBeNull();
    expect(cacheHitRate(null)).toBeNull();
  });
});
