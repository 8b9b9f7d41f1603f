import { waitFor } from '@trellis/testing';
import { ExecutorHarness } from './executor-harness';

/** A step's pool is its work subject (`work.step.<pool>`); `EXECUTOR_POOLS` chooses what a replica pulls. */
describe('executor pools', () => {
  let h: ExecutorHarness;

  beforeAll(async () => {
    h = await ExecutorHarness.start();
    await h.startExecutor({ EXECUTOR_POOLS: 'gpu' }, 'gpu-executor');
    await h.startExecutor({ EXECUTOR_POOLS: 'default,batch' }, 'general-executor');
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  it('runs each step on an executor of its pool only', async () => {
    const gpu = await Promise.all([1, 2, 3].map(() => h.publishJob({ pool: 'gpu' })));
    const other = await Promise.all([h.publishJob({ pool: 'default' }), h.publishJob({ pool: 'batch' })]);
    await waitFor('every result', () => [...gpu, ...other].every((j) => h.generatedFor(j).length === 1));
    for (const j of gpu) expect(h.generatedFor(j)[0]!.executor).toBe('gpu-executor');
    for (const j of other) expect(h.generatedFor(j)[0]!.executor).toBe('general-executor');
  });
});
