import { z } from 'zod';
import { defineEvent } from '@trellis/contracts';
import { NonRetryableError } from './errors';
import { decodeEvent, encodeEvent } from './event-encoding';

const Pinged = defineEvent('test', 'pinged', z.object({ runId: z.string(), count: z.number().int(), tags: z.array(z.string()).default([]) }));
const contracts = new Map([[Pinged.type, Pinged]]);
const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

describe('encodeEvent', () => {
  it('builds a CloudEvents 1.0 envelope with the contract type and the parsed data', () => {
    const encoded = encodeEvent(Pinged, { runId: 'r1', count: 2 }, { id: 'e1', source: 'trellis/test', time: '2025-01-01T00:00:00.000Z' });
    expect(encoded.id).toBe('e1');
    expect(encoded.type).toBe('dev.trellis.test.pinged');
    expect(JSON.parse(encoded.text)).toEqual({
      specversion: '1.0',
      id: 'e1',
      source: 'trellis/test',
      type: 'dev.trellis.test.pinged',
      time: '2025-01-01T00:00:00.000Z',
      datacontenttype: 'application/json',
      data: { runId: 'r1', count: 2, tags: [] },
    });
    expect(new TextDecoder().decode(encoded.body)).toBe(encoded.text);
  });

  it('refuses data that does not fit the contract, listing every issue', () => {
    const attempt = () => encodeEvent(Pinged, { runId: 1, count: 'x' } as never, { id: 'e1', source: 's' });
    expect(attempt).toThrow(NonRetryableError);
    expect(attempt).toThrow(/runId: .*; count: /);
  });
});

describe('decodeEvent', () => {
  it('returns the envelope and the typed data of a valid message', () => {
    const decoded = decodeEvent(encodeEvent(Pinged, { runId: 'r1', count: 1 }, { id: 'e1', source: 's' }).body, contracts);
    expect(decoded).toMatchObject({ ok: true, contract: Pinged, data: { runId: 'r1', count: 1, tags: [] } });
  });

  it('explains a body that is not JSON', () => {
    expect(decodeEvent(bytes('{nope'), contracts)).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid JSON: /) });
  });

  it('lists every envelope issue', () => {
    const decoded = decodeEvent(bytes({ specversion: '0.3', id: '', type: 'x', time: 't', source: 's' }), contracts);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.reason).toMatch(/^invalid CloudEvents envelope: /);
    expect(decoded.reason).toContain('specversion:');
    expect(decoded.reason).toContain('id:');
    expect(decoded.reason).toContain('type:');
  });

  it('names an event type the consumer does not handle', () => {
    const body = encodeEvent(defineEvent('test', 'other', z.object({})), {}, { id: 'e1', source: 's' }).body;
    expect(decodeEvent(body, contracts)).toMatchObject({ ok: false, reason: expect.stringContaining('unexpected event type dev.trellis.test.other') });
  });

  it('lists every data issue with its path', () => {
    const body = bytes({ specversion: '1.0', id: 'e1', source: 's', type: Pinged.type, time: 't', data: { runId: 'r', count: 1.5, tags: [1] } });
    const decoded = decodeEvent(body, contracts);
    expect(decoded).toMatchObject({ ok: false, envelope: { id: 'e1' } });
    if (decoded.ok) return;
    expect(decoded.reason).toMatch(/^invalid data for dev\.trellis\.test\.pinged: count: .*; tags\.0: /);
  });
});
