import { z } from 'zod';
import { rpcReply } from './rpc';

describe('rpcReply', () => {
  const Data = z.object({ id: z.string() });

  it('is built once per reply data schema (zod compiles a schema on its first parse)', () => {
    expect(rpcReply(Data)).toBe(rpcReply(Data));
    expect(rpcReply(z.object({ id: z.string() }))).not.toBe(rpcReply(Data));
  });

  it('takes an answer or an error, and names what does not fit', () => {
    expect(rpcReply(Data).parse({ ok: true, data: { id: 'r1' } })).toEqual({ ok: true, data: { id: 'r1' } });
    expect(rpcReply(Data).parse({ ok: false, error: { code: 'not_found', message: 'no run' } })).toEqual({ ok: false, error: { code: 'not_found', message: 'no run' } });
    const bad = rpcReply(Data).safeParse({ ok: true, data: { id: 1 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['data', 'id']);
  });
});
