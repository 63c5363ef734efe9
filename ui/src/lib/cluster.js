// The cluster panel's view of GET /api/cluster: one row per instance,
// this one first, each saying whether it holds the same pool as this one.

/** Rows for the instances table, this instance first, then by id. */
export function clusterRows(status) {
  if (!status?.enabled) return [];
  return [...(status.instances ?? [])]
    .sort((a, b) => Number(b.me) - Number(a.me) || String(a.id).localeCompare(String(b.id)))
    .map((i) => ({
      id: i.id,
      me: !!i.me,
      host: i.host,
      listen: i.listen,
      version: i.version,
      inSync: !!i.in_sync,
      seenAgoMs: i.seen_ago_ms,
    }));
}

/** `ok` when this instance reaches Redis and every instance is in sync, `warn` when some are not, `bad` when Redis is away. */
export function clusterTone(status) {
  if (!status?.enabled) return null;
  if (!status.connected) return 'bad';
  return clusterRows(status).every((r) => r.inSync) ? 'ok' : 'warn';
}
