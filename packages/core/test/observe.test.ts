import { describe, expect, it } from 'vitest';
import { ObserverList, type ClaimedEvent, type Observer } from '../src/observe/index.ts';
import type { TxSteps } from '../src/storage/index.ts';

const claim = (agentId: string): ClaimedEvent => ({ owner: 'w', agentId, conversationId: 'conv_1', messageIds: ['msg_1'], availableAt: [0], at: 0 });

describe('ObserverList', () => {
  it('listens to nothing when empty, and only to the hooks its observers have', () => {
    const list = new ObserverList();
    expect(list.listening('claimed')).toBe(false);
    expect(list.listening('progress')).toBe(false);
    expect(list.recording('runEnded')).toBe(false);
    const remove = list.add({ name: 'claims', claimed: () => {} });
    expect(list.listening('claimed')).toBe(true);
    expect(list.listening('progress')).toBe(false);
    remove();
    remove();
    expect(list.listening('claimed')).toBe(false);
  });

  it('notifies in the order observers were added; one added or removed meanwhile does not change that notification', () => {
    const list = new ObserverList();
    const seen: string[] = [];
    let removeB: (() => void) | undefined;
    list.add({
      name: 'a',
      claimed: (e) => {
        seen.push(`a:${e.agentId}`);
        removeB?.();
        list.add({ name: 'late', claimed: (l) => seen.push(`late:${l.agentId}`) });
      },
    });
    removeB = list.add({ name: 'b', claimed: (e) => seen.push(`b:${e.agentId}`) });
    list.notify('claimed', claim('x'));
    expect(seen).toEqual(['a:x', 'b:x']);
    seen.length = 0;
    removeB = undefined;
    list.notify('claimed', claim('y'));
    // The "late" added during the first notification hears this one; the one added now, the next.
    expect(seen).toEqual(['a:y', 'late:y']);
  });

  it('catches a throwing observer, counts its failures and logs only the first; the others still hear', () => {
    const logged: Array<[string, unknown]> = [];
    const list = new ObserverList({ onFailure: (name, err) => logged.push([name, err]) });
    const heard: string[] = [];
    list.add({
      name: 'broken',
      claimed: () => {
        throw new Error('boom');
      },
    });
    list.add({ name: 'fine', claimed: (e) => heard.push(e.agentId) });
    for (const agent of ['a', 'b', 'c']) expect(() => list.notify('claimed', claim(agent))).not.toThrow();
    expect(heard).toEqual(['a', 'b', 'c']);
    expect(logged).toHaveLength(1);
    expect(logged[0]![0]).toBe('broken');
    expect((logged[0]![1] as Error).message).toBe('boom');
    expect(list.failures()).toEqual([{ name: 'broken', count: 3 }]);
  });

  it('a failing logger does not reach the caller either', () => {
    const list = new ObserverList({
      onFailure: () => {
        throw new Error('logger down');
      },
    });
    list.add({
      name: 'broken',
      claimed: () => {
        throw new Error('boom');
      },
    });
    expect(() => list.notify('claimed', claim('a'))).not.toThrow();
  });

  it('runs records in order inside the given transaction, and lets their errors through (they fail the transaction)', () => {
    const list = new ObserverList<string[]>();
    const recorder = (name: string): Observer<string[]> => ({
      name,
      records: {
        *runStarted(e, tx): TxSteps<void> {
          tx.push(`${name}:${e.run.id}`);
          yield Promise.resolve();
        },
      },
    });
    list.add(recorder('first'));
    list.add(recorder('second'));
    const tx: string[] = [];
    const event = { run: { id: 'run_1' } as never, messageIds: [], changed: true };
    drain(list.record('runStarted', event, tx));
    expect(tx).toEqual(['first:run_1', 'second:run_1']);
    list.add({
      name: 'failing',
      records: {
        *runStarted(): TxSteps<void> {
          yield Promise.resolve();
          throw new Error('disk full');
        },
      },
    });
    expect(() => drain(list.record('runStarted', event, tx))).toThrow('disk full');
    expect(list.failures()).toEqual([]);
  });

  it('refuses an observer without a name, or one added twice', () => {
    const list = new ObserverList();
    expect(() => list.add({ name: '' })).toThrow(/needs a name/);
    const observer: Observer = { name: 'once', committed: () => {} };
    list.add(observer);
    expect(() => list.add(observer)).toThrow(/already added/);
  });
});

/** Runs a body whose steps need no answer (what `io` would hand back is not read here). */
function drain(steps: TxSteps<void>): void {
  for (let step = steps.next(); !step.done; step = steps.next()) void step.value;
}
