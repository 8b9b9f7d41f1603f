import { join } from 'node:path';
import { waitFor } from '@trellis/testing';
import { ExecutorHarness } from './executor-harness';

/** Tool steps (`job.tool`) through an executor process: arguments rendered, validated, run, published. */
describe('executor tool steps', () => {
  let h: ExecutorHarness;

  beforeAll(async () => {
    h = await ExecutorHarness.start();
    await h.startExecutor({ EXECUTOR_TOOLS_DIR: join(__dirname, 'fixtures/tools') });
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  const context = { inputs: { who: 'ada' }, steps: { plan: { output: '{"items":[{"name":"a"},{"name":"b"}]}' } } };

  it('renders the arguments, runs transform and publishes the JSON as text and structured', async () => {
    const job = await h.publishJob({
      model: '-',
      tool: { name: 'transform', with: { expression: '{"names": data.items.map(i, i.name), "by": "{{ inputs.who }}"}', data: '{{ steps.plan.output }}' } },
      context,
    });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.structured).toEqual({ names: ['a', 'b'], by: 'ada' });
    expect(JSON.parse(generated!.output)).toEqual(generated!.structured);
    expect(generated!).toMatchObject({ model: '-', usage: { inputTokens: 0, outputTokens: 0 } });
  });

  it('runs a custom tool loaded from EXECUTOR_TOOLS_DIR', async () => {
    const job = await h.publishJob({ model: '-', tool: { name: 'shout', with: { text: 'hi {{ inputs.who }}', times: 2 } }, context });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.output).toBe('HI ADA HI ADA');
    expect(generated!.structured).toBeUndefined();
  });

  it('fails the step naming the argument that does not fit the tool', async () => {
    const job = await h.publishJob({ model: '-', tool: { name: 'shout', with: { text: '', times: 'x' } }, context });
    const [failed] = await waitFor('the failure', () => h.failedFor(job).length === 1 && h.failedFor(job));
    expect(failed!.error.code).toBe('tool.invalid_input');
    expect(failed!.error.message).toMatch(/with\.text/);
    expect(failed!.error.message).toMatch(/with\.times/);
  });

  it('fails an unknown tool, and an http call to a blocked address, without retrying', async () => {
    const unknown = await h.publishJob({ model: '-', tool: { name: 'nope', with: {} }, context });
    const blocked = await h.publishJob({ model: '-', tool: { name: 'http', with: { url: 'http://169.254.169.254/latest/meta-data/' } }, context });
    const [u] = await waitFor('the failure', () => h.failedFor(unknown).length === 1 && h.failedFor(unknown));
    const [b] = await waitFor('the failure', () => h.failedFor(blocked).length === 1 && h.failedFor(blocked));
    expect(u!.error.code).toBe('tool.unknown');
    expect(b!.error).toMatchObject({ code: 'tool.blocked_address', retryable: false });
  });
});
