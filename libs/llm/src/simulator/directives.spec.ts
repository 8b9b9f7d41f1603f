import { DirectivePlanner, DirectiveSyntaxError, parseDirectives, stripDirectives } from './directives';

describe('parseDirectives', () => {
  it('finds no directive in plain prose, even one that says [[simulate]]', () => {
    expect(parseDirectives('Write a haiku about [[simulated]] rain.')).toEqual([]);
  });

  it('reads a status directive with retry_after and times, keeping its exact text', () => {
    const text = 'Summarise this. [[sim status=429 retry_after=2 times=1]]';
    expect(parseDirectives(text)).toEqual([
      { text: '[[sim status=429 retry_after=2 times=1]]', status: 429, retryAfter: 2, times: 1 },
    ]);
  });

  it('reads double- and single-quoted values with escapes, spaces and brackets inside', () => {
    const [reply, json] = parseDirectives(
      `[[sim reply="He said \\"hi\\" ]] then\\nleft" latency_ms=5]] and [[sim json='{"score": 0.2, "tags": ["a]]"]}']]`,
    );
    expect(reply).toMatchObject({ reply: 'He said "hi" ]] then\nleft', latencyMs: 5 });
    expect(json).toMatchObject({ json: '{"score": 0.2, "tags": ["a]]"]}' });
  });

  it('reads several directives in order, across lines', () => {
    const found = parseDirectives('[[sim drop=1 times=2]]\nhello\n[[sim\n  status=503\n]]');
    expect(found.map((d) => d.text)).toEqual(['[[sim drop=1 times=2]]', '[[sim\n  status=503\n]]']);
    expect(found[0]).toMatchObject({ drop: true, times: 2 });
    expect(found[1]).toMatchObject({ status: 503 });
  });

  it('accepts an empty directive', () => {
    expect(parseDirectives('[[sim]]')).toEqual([{ text: '[[sim]]' }]);
  });

  it.each([
    ['an unknown key', '[[sim stauts=429]]', /stauts/],
    ['a status outside 400-599', '[[sim status=200]]', /status/],
    ['a non-numeric latency', '[[sim latency_ms=fast]]', /latency_ms/],
    ['invalid JSON', "[[sim json='{nope}']]", /valid JSON/],
    ['reply and json together', `[[sim reply=a json='1']]`, /either reply or json/],
    ['a duplicate key', '[[sim status=429 status=500]]', /duplicate key "status"/],
    ['a missing closing bracket', 'text [[sim status=429', /unterminated directive/],
    ['an unterminated quote', '[[sim reply="open]]', /unterminated quoted value/],
    ['a key without a value', '[[sim drop]]', /expected "="/],
    ['times=0', '[[sim status=500 times=0]]', /times/],
  ])('rejects %s', (_name, text, why) => {
    expect(() => parseDirectives(text)).toThrow(DirectiveSyntaxError);
    expect(() => parseDirectives(text)).toThrow(why);
  });
});

describe('stripDirectives', () => {
  it('removes every directive and keeps the prose around them', () => {
    expect(stripDirectives('Hello [[sim status=500 times=1]]world[[sim reply="x ]] y"]]!')).toBe('Hello world!');
  });
});

describe('DirectivePlanner', () => {
  const [rateLimited] = parseDirectives('[[sim status=429 retry_after=2 times=2]]');
  const [always] = parseDirectives('[[sim status=500]]');
  const [dropOnce] = parseDirectives('[[sim drop=1 times=1]]');

  it('fails the first `times` requests carrying a directive, then lets them through', () => {
    const sut = new DirectivePlanner();
    expect(sut.plan([rateLimited!]).failure).toMatchObject({ status: 429, retryAfter: 2, drop: false });
    expect(sut.plan([rateLimited!]).failure).toMatchObject({ status: 429 });
    expect(sut.plan([rateLimited!]).failure).toBeUndefined();
  });

  it('counts per directive text, not per request', () => {
    const sut = new DirectivePlanner();
    sut.plan([dropOnce!]);
    expect(sut.plan([rateLimited!]).failure).toMatchObject({ status: 429 });
    expect(sut.plan([dropOnce!]).failure).toBeUndefined();
  });

  it('counts a directive repeated within one conversation once', () => {
    const sut = new DirectivePlanner();
    expect(sut.plan([dropOnce!, dropOnce!]).failure).toMatchObject({ drop: true });
    expect(sut.plan([dropOnce!, dropOnce!]).failure).toBeUndefined();
  });

  it('fails always without `times`', () => {
    const sut = new DirectivePlanner();
    for (let i = 0; i < 5; i++) expect(sut.plan([always!]).failure).toMatchObject({ status: 500 });
  });

  it('takes the first active failure, and the last latency and content', () => {
    const sut = new DirectivePlanner();
    const directives = parseDirectives(
      `[[sim drop=1 times=1]] [[sim status=503]] [[sim latency_ms=10 reply=first]] [[sim latency_ms=20 json='{"a":1}']]`,
    );
    expect(sut.plan(directives)).toMatchObject({ failure: { drop: true }, latencyMs: 20, content: '{"a":1}' });
    expect(sut.plan(directives).failure).toMatchObject({ status: 503, drop: false });
  });

  it('forgets its counters on reset', () => {
    const sut = new DirectivePlanner();
    sut.plan([dropOnce!]);
    sut.reset();
    expect(sut.plan([dropOnce!]).failure).toMatchObject({ drop: true });
  });
});
