import { describe, it, expect } from 'vitest';
import { clusterRows, clusterTone } from '../src/lib/cluster.js';

const status = (over = {}) => ({
  enabled: true,
  id: 'lv-b',
  redis: 'redis://127.0.0.1:6379/0',
  connected: true,
  instances: [
    { id: 'lv-c', host: 'h3', listen: '127.0.0.1:3', version: '1', seen_ms: 1, digest: 'x', up: true, me: false, in_sync: true, seen_ago_ms: 400 },
    { id: 'lv-b', host: 'h2', listen: '127.0.0.1:2', version: '1', seen_ms: 1, digest: 'x', up: true, me: true, in_sync: true, seen_ago_ms: 10 },
    { id: 'lv-a', host: 'h1', listen: '127.0.0.1:1', version: '1', seen_ms: 1, digest: 'x', up: true, me: false, in_sync: true, seen_ago_ms: 200 },
  ],
  ...over,
});

describe('the cluster panel', () => {
  it('lists this instance first, then the others by id', () => {
    expect(clusterRows(status()).map((r) => r.id)).toEqual(['lv-b', 'lv-a', 'lv-c']);
  });

  it('shows nothing for an instance standing alone', () => {
    expect(clusterRows({ enabled: false, instances: [] })).toEqual([]);
    expect(clusterTone({ enabled: false })).toBe(null);
  });

  it('warns when an instance is out of sync, and alarms when Redis is away', () => {
    expect(clusterTone(status())).toBe('ok');
    const lagging = status();
    lagging.instances[0].in_sync = false;
    expect(clusterTone(lagging)).toBe('warn');
    expect(clusterTone(status({ connected: false }))).toBe('bad');
  });
});
