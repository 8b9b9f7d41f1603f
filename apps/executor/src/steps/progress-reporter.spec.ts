import { ProgressReporter } from './progress-reporter';

type Sent = Array<[seq: number, tokens: number, delta: string]>;

describe('ProgressReporter', () => {
  let now: number;
  let sent: Sent;
  const reporter = (intervalMs = 250) => new ProgressReporter(intervalMs, async (seq, tokens, delta) => void sent.push([seq, tokens, delta]), () => now);

  beforeEach(() => {
    now = 1_000;
    sent = [];
  });

  it('publishes nothing for a step that ends within the first interval', async () => {
    const sut = reporter();
    sut.add('abcd');
    now += 200;
    sut.add('efgh');
    await sut.close();
    expect(sent).toEqual([]);
  });

  it('sends the first event one interval after the start, then at most one per interval, and the rest on close', async () => {
    const sut = reporter();
    sut.add('abcd');
    now += 100;
    sut.add('ef');
    now += 150;
    sut.add('gh');
    now += 100;
    sut.add('ij');
    now += 100;
    sut.add('kl');
    await sut.close();
    expect(sent).toEqual([
      [1, 2, 'abcdefgh'],
      [2, 3, 'ijkl'],
    ]);
  });

  it('sends on close when the first event was due but its timer had not fired', async () => {
    const sut = reporter();
    sut.add('abcd');
    now += 300;
    await sut.close();
    expect(sent).toEqual([[1, 1, 'abcd']]);
  });

  it('sends what is pending when the interval ends although no delta arrives then', async () => {
    const sut = new ProgressReporter(30, async (seq, tokens, delta) => void sent.push([seq, tokens, delta]));
    sut.add('abcd');
    expect(sent).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sent).toEqual([[1, 1, 'abcd']]);
    sut.add('ef');
    await sut.close();
    expect(sent).toEqual([
      [1, 1, 'abcd'],
      [2, 2, 'ef'],
    ]);
  });

  it('drops what is pending on discard', async () => {
    const sut = reporter();
    sut.add('abcd');
    now += 300;
    sut.add('ef');
    sut.add('gh');
    sut.discard();
    await sut.close();
    expect(sent).toEqual([[1, 2, 'abcdef']]);
  });
});
