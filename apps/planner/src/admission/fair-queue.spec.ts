import { FairQueue, type HeldStep } from './fair-queue';

let seq = 0;
const step = (project: string, priority = 3, runId = `${project}-${seq}`): HeldStep => ({ runId, stepId: `s${seq}`, project, priority, seq: seq++ });

describe('FairQueue', () => {
  it('serves a project with 5 steps waiting beside another with 400 in turn, not after them', () => {
    const q = new FairQueue();
    for (let i = 0; i < 400; i++) q.add(step('a'));
    for (let i = 0; i < 5; i++) q.add(step('b'));
    const first = q.take(10, () => 1).map((s) => s.project);
    expect(first).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect(q.size).toBe(395);
    expect(new Set(q.take(395, () => 1).map((s) => s.project))).toEqual(new Set(['a']));
  });

  it('gives each project its weight in dispatches per turn', () => {
    const q = new FairQueue();
    for (let i = 0; i < 30; i++) q.add(step('heavy'));
    for (let i = 0; i < 30; i++) q.add(step('light'));
    const taken = q.take(20, (p) => (p === 'heavy' ? 3 : 1)).map((s) => s.project);
    expect(taken.filter((p) => p === 'heavy')).toHaveLength(15);
    expect(taken.filter((p) => p === 'light')).toHaveLength(5);
  });

  it('orders a project by priority, then by arrival, and takes a step once', () => {
    const q = new FairQueue();
    const low = Array.from({ length: 200 }, () => step('a', 3));
    for (const s of low) q.add(s);
    const urgent = step('a', 5);
    q.add(urgent);
    q.add(urgent);
    const next = q.take(3, () => 1);
    expect(next[0]).toBe(urgent);
    expect(next.slice(1)).toEqual(low.slice(0, 2));
    expect(q.size).toBe(198);
  });

  it('owes nothing to a project that went idle', () => {
    const q = new FairQueue();
    q.add(step('a'));
    expect(q.take(5, () => 10)).toHaveLength(1);
    for (let i = 0; i < 3; i++) q.add(step('a'));
    for (let i = 0; i < 3; i++) q.add(step('b'));
    expect(q.take(2, () => 1).map((s) => s.project)).toEqual(['a', 'b']);
  });
});
