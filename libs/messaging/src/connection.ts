import { connect, type NatsConnection, type Status } from '@nats-io/transport-node';
import { logger, type Logger } from '@trellis/telemetry';

/** Where and as whom to connect. */
export interface ConnectNatsOptions {
  /** One URL or several (`nats://host:4222`); the client also learns cluster peers. */
  servers: string | string[];
  /** The connection name the server shows in its monitoring (`planner`, `executor-7f3c`). */
  name: string;
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/**
 * Connects and stays connected: reconnects forever (also when the server is not up yet at
 * start, so services can start in any order) with a backoff that grows with the length of
 * the outage, and logs every status change.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const log = logger('messaging.nats').child({ connection: options.name });
  // The client asks for the delay before every dial attempt (and while it waits between
  // attempts), not once per attempt, so the backoff is a function of the outage's age
  // rather than of a call counter.
  let outageSince = Date.now();
  let connected = false;
  let lastWarning = Date.now();
  const nc = await connect({
    servers: options.servers,
    name: options.name,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    // Without this the client builds an Error (capturing a stack) for every request and
    // every JetStream publish, in case it fails: ~3% of a busy service's CPU (bench/README.md).
    // A failure still carries the stack of where it was detected.
    noAsyncTraces: true,
    reconnectDelayHandler: () => {
      // Before the first connection there is no status stream to log from: say here that
      // the service is waiting, so a wrong URL does not look like a silent hang.
      if (!connected && Date.now() - lastWarning > 10_000) {
        lastWarning = Date.now();
        log.warn({ servers: options.servers, waitingMs: Date.now() - outageSince }, 'still trying to connect to NATS');
      }
      const base = Math.min(RECONNECT_MAX_MS, Math.max(RECONNECT_MIN_MS, (Date.now() - outageSince) / 2));
      return Math.round(base * (0.8 + Math.random() * 0.4));
    },
  });
  connected = true;
  coalesceWrites(nc);
  log.info({ server: nc.getServer() }, 'connected to NATS');
  void watchStatus(nc, log, () => (outageSince = Date.now()));
  return nc;
}

/** What `coalesceWrites` reaches into: nats.js's protocol handler, which outlives reconnects. */
interface ProtocolInternals {
  flushPending(): void;
  outbound: { size(): number };
  pendingLimit: number;
}

/**
 * Writes what a connection has to send once per turn of the event loop rather than once per
 * microtask checkpoint.
 *
 * nats.js buffers every command and writes the buffer to the socket in a microtask after the
 * first one. A busy service handles many socket reads per turn (answers of model calls, pulled
 * messages, acks), each followed by its own checkpoint, so each publish, ack and request went
 * out in a write of its own: one system call for the service and one read for nats-server per
 * message. Deferred to `setImmediate` — the check phase, right after the turn's I/O callbacks
 * — everything a turn produced leaves in one write (bench/README.md, row 24; ADR 0016). On an
 * idle service a turn is one callback, so nothing waits longer than it did. A buffer past the
 * client's own threshold (32 KiB) is still written at once.
 *
 * This replaces the handler's `flushPending`, which nats.js 3 does not expose as an option;
 * `connection.int-spec.ts` fails if the client's internals move.
 */
function coalesceWrites(nc: NatsConnection): void {
  const protocol = (nc as unknown as { protocol: ProtocolInternals }).protocol;
  const flushNow = protocol.flushPending.bind(protocol);
  let scheduled = false;
  const flushScheduled = () => {
    scheduled = false;
    flushNow();
  };
  protocol.flushPending = () => {
    if (protocol.outbound.size() >= protocol.pendingLimit) return flushNow();
    if (scheduled) return;
    scheduled = true;
    setImmediate(flushScheduled);
  };
}

async function watchStatus(nc: NatsConnection, log: Logger, onDisconnect: () => void): Promise<void> {
  for await (const status of nc.status()) logStatus(status, log, onDisconnect);
}

function logStatus(s: Status, log: Logger, onDisconnect: () => void): void {
  switch (s.type) {
    case 'disconnect':
      onDisconnect();
      log.warn({ server: s.server }, 'disconnected from NATS; reconnecting');
      return;
    case 'reconnect':
      log.info({ server: s.server }, 'reconnected to NATS');
      return;
    case 'error':
      log.error({ err: s.error }, 'NATS connection error');
      return;
    case 'ldm':
      log.warn({ server: s.server }, 'NATS server entering lame-duck mode; will move to another server');
      return;
    case 'slowConsumer':
      log.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'slow consumer: the server is dropping messages for this subscription');
      return;
    case 'staleConnection':
      log.warn('stale NATS connection (pings unanswered); reconnecting');
      return;
    case 'update':
      log.debug({ added: s.added, deleted: s.deleted }, 'NATS cluster membership changed');
      return;
    case 'close':
      log.info('NATS connection closed');
      return;
    // 'reconnecting' fires per attempt and 'ping' per ping: too chatty for a log line.
    default:
      return;
  }
}

/**
 * Graceful shutdown: stops new subscriptions' deliveries, lets handlers already holding a
 * message finish, flushes what was published, then closes. Falls back to a plain close if
 * draining takes longer than `timeoutMs`. Safe to call on a connection already closed.
 */
export async function drainNats(nc: NatsConnection, options: { timeoutMs?: number } = {}): Promise<void> {
  if (nc.isClosed()) return;
  const log = logger('messaging.nats');
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([nc.isDraining() ? nc.closed().then(() => 'drained' as const) : nc.drain().then(() => 'drained' as const), timedOut]);
    if (outcome === 'timeout') {
      log.warn({ timeoutMs }, 'NATS drain timed out; closing');
      await nc.close();
    }
  } catch (err) {
    log.warn({ err }, 'NATS drain failed; closing');
    if (!nc.isClosed()) await nc.close();
  } finally {
    clearTimeout(timer);
  }
}
