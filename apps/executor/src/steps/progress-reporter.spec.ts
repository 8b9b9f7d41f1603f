import { ProgressReporter } from './progress-reporter';

describe('ProgressReporter', () => {
  it('sends at most one event per interval, with the text since the last one', async () => {
    let now = 1_000;
    const sent: Array<[number, number, string]> = [];
    const reporter = new ProgressReporter(250, async (seq, tokens, delta) => void sent.push([seq, tokens, delta]), () => now);
    reporter.add('abcd');
    reporter.add('efgh');
    now += 100;
    reporter.add('ij');
    now += 200;
    reporter.add('kl');
    await reporter.close();
    expect(sent).toEqual([
      [1, 1, 'abcd'],
      [2, 3, 'efghijkl'],
    ]);
  });
});
