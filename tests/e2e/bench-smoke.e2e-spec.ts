import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@trellis/testing';

/**
 * `npm run bench -- --quick` as a user runs it (the built entry point, every service its own
 * process): it must finish, write a well-formed results file and find no step lost or run
 * twice. It never asserts a timing: performance is read from the bench, not from tests.
 */
describe('the benchmark in quick mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a results file with every case and no lost or duplicated step', async () => {
    const out = join(dir, 'results.json');
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/src/main.js'), '--quick', '--scale-executors', '1,2', '--repeat', '2', '--out', out], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });

    const results = JSON.parse(readFileSync(out, 'utf8'));
    expect(results).toMatchObject({ ok: true, problems: [] });
    const names = results.cases.map((c: { kind: string; system: string }) => `${c.kind}/${c.system}`);
    for (const kind of ['throughput', 'latency', 'handoff', 'queue']) {
      expect(names).toContain(`${kind}/trellis`);
      expect(names).toContain(`${kind}/baseline`);
    }
    expect(names.filter((n: string) => n === 'scaling/trellis')).toHaveLength(2);
    for (const c of results.cases) {
      expect(c.problems).toEqual([]);
      expect(c.stepsPerSecond).toBeGreaterThan(0);
      expect(Object.keys(c.cpuSecondsPer1000Steps)).toContain('simulator');
      if (c.kind === 'queue') {
        // One step per run, never more running than the limit, every run waited its turn.
        expect(c.steps).toBe(c.runs);
        expect(c.queue.maxRunning).toBeGreaterThan(0);
        expect(c.queue.maxRunning).toBeLessThanOrEqual(c.queue.limit);
        expect(c.queue.waitMs.count).toBe(c.runs);
        continue;
      }
      expect(c.steps).toBe(c.runs * 10);
      expect(c.handoffMs.count).toBeGreaterThan(0);
      if (c.kind === 'throughput') {
        // Measured twice, taking turns with the other throughput cases: the figures are medians
        // (of two: their mean), and every measurement is kept.
        expect(c.repeats).toHaveLength(2);
        const mean = (pick: (r: { cpuTotalPer1000Steps: number; stepsPerSecond: number }) => number) => (pick(c.repeats[0]) + pick(c.repeats[1])) / 2;
        expect(c.cpuTotalPer1000Steps).toBeCloseTo(mean((r) => r.cpuTotalPer1000Steps), 6);
        expect(c.stepsPerSecond).toBeCloseTo(mean((r) => r.stepsPerSecond), 6);
      } else {
        expect(c.repeats).toBeUndefined();
      }
    }
    expect(Object.keys(results.ratios).length).toBeGreaterThan(0);
    expect(output).toContain('| case | system |');
    expect(output).toContain('| queue case | system |');
    expect(output).toContain('| measured more than once (above: medians) |');
  }, 90_000);
});
