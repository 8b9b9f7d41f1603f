import type { NatsConnection } from '@trellis/messaging';
import { connect, quietLogs, token } from './nats-test-kit';

/** nats.js's transport, whose `send` is one socket write. */
interface Internals {
  protocol: { flushPending(): void; outbound: { size(): number }; pendingLimit: number; transport: { send(frame: Uint8Array): void } };
}

/** Counts the socket writes of `nc` while `fn` runs (and the turn after it). */
async function writesDuring(nc: NatsConnection, fn: () => Promise<void>): Promise<number> {
  const transport = (nc as unknown as Internals).protocol.transport;
  const send = transport.send;
  let writes = 0;
  transport.send = (frame) => {
    writes++;
    send.call(transport, frame);
  };
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
    return writes;
  } finally {
    transport.send = send;
  }
}

/** Runs `n` callbacks as a busy service does: each in a callback of its own, all in one turn of the event loop. */
function inOneTurn(n: number, each: (i: number) => void): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    for (let i = 0; i < n; i++) {
      setImmediate(() => {
        each(i);
        if (--left === 0) resolve();
      });
    }
  });
}

describe('connectNats: writes coalesced per turn of the event loop', () => {
  let nc: NatsConnection;
  let peer: NatsConnection;

  beforeAll(async () => {
    quietLogs();
    [nc, peer] = await Promise.all([connect('coalesce-test'), connect('coalesce-peer')]);
  });
  afterAll(async () => {
    await Promise.all([nc.close(), peer.close()]);
  });

  it('still reaches into the client it was written for', () => {
    const protocol = (nc as unknown as Internals).protocol;
    expect(typeof protocol.flushPending).toBe('function');
    expect(typeof protocol.outbound.size()).toBe('number');
    expect(protocol.pendingLimit).toBeGreaterThan(0);
    expect(typeof protocol.transport.send).toBe('function');
  });

  it('sends what every callback of one turn published in one write, in order, and all of it arrives', async () => {
    const subject = `coalesce.${token()}`;
    const received: string[] = [];
    const sub = peer.subscribe(subject, { callback: (_err, msg) => void received.push(msg.string()) });
    await peer.flush();
    const writes = await writesDuring(nc, () => inOneTurn(50, (i) => nc.publish(subject, String(i))));
    expect(writes).toBe(1);
    await nc.flush();
    await peer.flush();
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    sub.unsubscribe();
  });

  it('writes a buffer past the client threshold at once, not at the end of the turn', async () => {
    const subject = `coalesce.big.${token()}`;
    let beforeTurnEnded = -1;
    const writes = await writesDuring(nc, async () => {
      const before = (nc as unknown as Internals).protocol.outbound.size();
      nc.publish(subject, new Uint8Array(40 * 1024));
      await Promise.resolve();
      // The client's own microtask has run; the turn has not ended: the buffer is already written.
      beforeTurnEnded = (nc as unknown as Internals).protocol.outbound.size() - before;
    });
    expect(beforeTurnEnded).toBe(0);
    expect(writes).toBe(1);
  });

  it('answers requests and flushes as before', async () => {
    const subject = `coalesce.rpc.${token()}`;
    const sub = peer.subscribe(subject, { callback: (_err, msg) => void msg.respond(`re:${msg.string()}`) });
    await peer.flush();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => nc.request(subject, String(i), { timeout: 2_000 })));
    expect(answers.map((m) => m.string())).toEqual(Array.from({ length: 20 }, (_, i) => `re:${i}`));
    await expect(nc.flush()).resolves.toBeUndefined();
    sub.unsubscribe();
  });
});
