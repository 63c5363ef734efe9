// Account ordering: pure moves, plus optimistic sync with roll-back.

/** A copy of `list` with the item at `from` moved to index `to`. */
export function move(list, from, to) {
  const out = [...list];
  if (from < 0 || from >= out.length) return out;
  const t = Math.max(0, Math.min(out.length - 1, to));
  const [item] = out.splice(from, 1);
  out.splice(t, 0, item);
  return out;
}

/** Moves id `id` by `delta` places in a list of ids; null when it cannot move. */
export function moveBy(ids, id, delta) {
  const i = ids.indexOf(id);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= ids.length || delta === 0) return null;
  return move(ids, i, j);
}

export function sameOrder(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** `items` (objects with `id`) in the order of `ids`; unknown items keep their place at the end. */
export function applyOrder(items, ids) {
  const pos = new Map(ids.map((id, i) => [id, i]));
  return [...items].sort((a, b) => (pos.get(a.id) ?? Infinity) - (pos.get(b.id) ?? Infinity));
}

/**
 * Optimistic ordering. `apply(ids)` shows the new order at once (onChange),
 * then saves it with `commit(ids)`, one save at a time. When a save fails the
 * order goes back to the last one the server accepted, queued saves built on
 * the failed one are dropped, and onError gets the error.
 *
 * @param {{ commit: (ids: string[]) => Promise<unknown>, onChange: (ids: string[]) => void,
 *           onError?: (e: unknown, ids: string[]) => void, onSaved?: (result: unknown, ids: string[]) => void }} o
 */
export function createOrderSync({ commit, onChange, onError = () => {}, onSaved = () => {} }) {
  let confirmed = [];
  let current = [];
  let generation = 0;
  let pending = 0;
  let chain = Promise.resolve();

  return {
    /** The server's order (after a load): nothing to save. */
    reset(ids) {
      confirmed = [...ids];
      current = [...ids];
    },
    get confirmed() {
      return [...confirmed];
    },
    get current() {
      return [...current];
    },
    get pending() {
      return pending;
    },
    apply(ids) {
      if (sameOrder(ids, current)) return chain;
      const gen = generation;
      current = [...ids];
      onChange([...ids]);
      pending++;
      chain = chain.then(async () => {
        try {
          if (gen !== generation) return; // built on an order that was rolled back
          const result = await commit([...ids]);
          confirmed = [...ids];
          onSaved(result, [...ids]);
        } catch (e) {
          if (gen !== generation) return;
          generation++;
          current = [...confirmed];
          onChange([...confirmed]);
          onError(e, [...ids]);
        } finally {
          pending--;
        }
      });
      return chain;
    },
  };
}
