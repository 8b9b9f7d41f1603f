import type { FastifyReply } from 'fastify';

/**
 * A Server-Sent Events response on the raw socket: headers at once, heartbeat comments so
 * idle proxies keep the stream open, and an abort signal that fires when the client leaves.
 */
export class SseStream {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly reply: FastifyReply,
    heartbeatMs: number,
  ) {
    this.signal = this.controller.signal;
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.flushHeaders();
    reply.raw.on('close', () => this.controller.abort());
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), heartbeatMs);
  }

  get closed(): boolean {
    return this.signal.aborted;
  }

  /** One event; `data` is written on one line (JSON never contains a raw newline). */
  event(fields: { id?: string | number; event?: string; data: string }): void {
    let out = '';
    if (fields.id !== undefined) out += `id: ${fields.id}\n`;
    if (fields.event) out += `event: ${fields.event}\n`;
    out += `data: ${fields.data}\n\n`;
    this.write(out);
  }

  end(): void {
    clearInterval(this.heartbeat);
    if (!this.reply.raw.writableEnded) this.reply.raw.end();
    this.controller.abort();
  }

  private write(chunk: string): void {
    if (!this.reply.raw.writableEnded && !this.reply.raw.destroyed) this.reply.raw.write(chunk);
  }
}
