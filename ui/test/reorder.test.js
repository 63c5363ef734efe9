import { describe, it, expect, vi } from 'vitest';
import { move, moveBy, applyOrder, sameOrder, createOrderSync } from '../src/lib/reorder.js';

describe('move / moveBy', () => {
  it('moves an item and leaves the input alone', () => {
    const ids = ['a', 'b', 'c', 'd'];
    expect(move(ids, 0, 2)).toEqual(['b', 'c', 'a', 'd']);
    expect(move(ids, 3, 0)).toEqual(['d', 'a', 'b', 'c']);
    expect(move(ids, 1, 99)).toEqual(['a', 'c', 'd', 'b']);
    expect(ids).toEqual(['a', 'b', 'c', 'd']);
  });
  it('moves up and down by one, not past the ends', () => {
    const ids = ['a', 'b', 'c'];
    expect(moveBy(ids, 'b', -1)).toEqual(['b', 'a', 'c']);
    expect(moveBy(ids, 'b', 1)).toEqual(['a', 'c', 'b']);
    expect(moveBy(ids, 'a', -1)).toBeNull();
    expect(moveBy(ids, 'c', 1)).toBeNull();
    expect(moveBy(ids, 'zz', 1)).toBeNull();
  });
  it('applyOrder sorts objects by id list, unknown ones last', () => {
    const items = [{ id: 'a' }, { id: 'b' }, { id: 'x' }, { id: 'c' }];
    expect(applyOrder(items, ['c', 'a', 'b']).map((i) => i.id)).toEqual(['c', 'a', 'b', 'x']);
  });
  it('sameOrder', () => {
    expect(sameOrder(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameOrder(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(sameOrder(['a'], ['a', 'b'])).toBe(false);
  });
});

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createOrderSync', () => {
  it('shows the new order at once and keeps it when the save succeeds', async () => {
    const shown = [];
    const commit = vi.fn(async (ids) => ids.map((id) => ({ id })));
    const onSaved = vi.fn();
    const sync = createOrderSync({ commit, onChange: (ids) => shown.push(ids), onSaved });
    sync.reset(['a', 'b', 'c']);
    const p = sync.apply(['b', 'a', 'c']);
    expect(shown).toEqual([['b', 'a', 'c']]);
    expect(sync.pending).toBe(1);
    await p;
    expect(commit).toHaveBeenCalledWith(['b', 'a', 'c']);
    expect(onSaved).toHaveBeenCalledOnce();
    expect(sync.confirmed).toEqual(['b', 'a', 'c']);
    expect(sync.pending).toBe(0);
  });

  it('rolls back to the last saved order when the save fails', async () => {
    const shown = [];
    const onError = vi.fn();
    const sync = createOrderSync({
      commit: async () => {
        throw new Error('boom');
      },
      onChange: (ids) => shown.push(ids),
      onError,
    });
    sync.reset(['a', 'b', 'c']);
    await sync.apply(['a', 'c', 'b']);
    expect(shown).toEqual([
      ['a', 'c', 'b'],
      ['a', 'b', 'c'],
    ]);
    expect(onError).toHaveBeenCalledOnce();
    expect(onError.mock.calls[0][0].message).toBe('boom');
    expect(sync.current).toEqual(['a', 'b', 'c']);
  });

  it('saves one at a time and drops queued moves built on a failed one', async () => {
    const first = deferred();
    const commit = vi.fn().mockImplementationOnce(() => first.promise).mockResolvedValue([]);
    const shown = [];
    const onError = vi.fn();
    const sync = createOrderSync({ commit, onChange: (ids) => shown.push(ids), onError });
    sync.reset(['a', 'b', 'c']);
    sync.apply(['b', 'a', 'c']);
    const last = sync.apply(['b', 'c', 'a']);
    expect(shown.at(-1)).toEqual(['b', 'c', 'a']);
    await vi.waitFor(() => expect(commit).toHaveBeenCalledTimes(1));
    await new Promise((r) => setTimeout(r, 5));
    expect(commit).toHaveBeenCalledTimes(1); // the second waits for the first
    first.reject(new Error('conflict'));
    await last;
    expect(commit).toHaveBeenCalledTimes(1); // the second was dropped
    expect(shown.at(-1)).toEqual(['a', 'b', 'c']);
    expect(onError).toHaveBeenCalledOnce();
    expect(sync.pending).toBe(0);
  });

  it('chains successful saves in order', async () => {
    const calls = [];
    const sync = createOrderSync({ commit: async (ids) => calls.push(ids.join('')), onChange: () => {} });
    sync.reset(['a', 'b', 'c']);
    sync.apply(['b', 'a', 'c']);
    await sync.apply(['b', 'c', 'a']);
    expect(calls).toEqual(['bac', 'bca']);
    expect(sync.confirmed).toEqual(['b', 'c', 'a']);
  });

  it('does nothing for an unchanged order', async () => {
    const commit = vi.fn();
    const sync = createOrderSync({ commit, onChange: () => {} });
    sync.reset(['a', 'b']);
    await sync.apply(['a', 'b']);
    expect(commit).not.toHaveBeenCalled();
  });

  it('after a rollback, a new move starts from the restored order', async () => {
    const commit = vi.fn().mockRejectedValueOnce(new Error('x')).mockResolvedValue([]);
    const sync = createOrderSync({ commit, onChange: () => {} });
    sync.reset(['a', 'b']);
    await sync.apply(['b', 'a']);
    await sync.apply(['b', 'a']);
    expect(commit).toHaveBeenCalledTimes(2);
    expect(sync.confirmed).toEqual(['b', 'a']);
  });
});
