import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback between the services and a dependency (PostgreSQL), so a test can
 * cut the route and restore it without stopping the shared server that other test files use.
 * While cut, every open connection is destroyed and new ones are accepted and dropped at once
 * (the client sees a reset, as with a database that went away).
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  /** Connections accepted since start, for a test to see that clients reconnected. */
  connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(target: { host: string; port: number }, listenPort = 0): Promise<TcpProxy> {
    return new Promise((resolve, reject) => {
      let proxy: TcpProxy;
      const server = createServer((client) => {
        if (proxy.cut) {
          client.destroy();
          return;
        }
        proxy.connections += 1;
        const upstream = createConnection(target);
        proxy.track(client);
        proxy.track(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close).on('close', close);
        upstream.on('error', close).on('close', close);
      });
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => {
        const address = server.address();
        if (typeof address !== 'object' || !address) return reject(new Error('proxy has no address'));
        proxy = new TcpProxy(server, address.port);
        resolve(proxy);
      });
    });
  }

  /** Whether the route is cut. */
  get isCut(): boolean {
    return this.cut;
  }

  /** Cuts the route: open connections are destroyed, new ones are dropped until `restore()`. */
  cutRoute(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Lets connections through again. */
  restore(): void {
    this.cut = false;
  }

  /** Closes the proxy and every connection through it. */
  close(): Promise<void> {
    this.cutRoute();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }
}

/** Starts a {@link TcpProxy} to `target` on a free loopback port. */
export function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  return TcpProxy.start(target);
}
