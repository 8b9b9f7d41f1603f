import { BlockList, isIP } from 'node:net';

/**
 * Which addresses the `http` tool may connect to. Loopback, private, carrier-grade NAT,
 * link-local (cloud metadata lives at 169.254.169.254 and fd00:ec2::254), multicast and
 * unspecified addresses are refused unless allow-listed, so a pipeline cannot make the
 * executor reach its own network (SSRF). The check runs on the address actually connected
 * to, after DNS resolution, on every hop of a redirect chain.
 */
export class AddressPolicy {
  private readonly blocked = new BlockList();
  private readonly allowedAddresses = new BlockList();
  private readonly allowedHosts = new Set<string>();

  /** `allow`: hostnames, IP addresses or CIDRs (`10.1.0.0/16`) that may be reached although blocked. */
  constructor(allow: readonly string[] = []) {
    for (const [net, prefix] of BLOCKED_V4) this.blocked.addSubnet(net, prefix, 'ipv4');
    for (const [net, prefix] of BLOCKED_V6) this.blocked.addSubnet(net, prefix, 'ipv6');
    for (const entry of allow) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address ?? '');
      if (family) {
        const type = family === 4 ? 'ipv4' : 'ipv6';
        this.allowedAddresses.addSubnet(address!, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), type);
      } else {
        this.allowedHosts.add(entry.toLowerCase());
      }
    }
  }

  /** True when `host` is allow-listed by name (then any address it resolves to is accepted). */
  hostAllowed(host: string): boolean {
    return this.allowedHosts.has(host.toLowerCase());
  }

  /** Why `address` may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined {
    const unwrapped = unwrapMapped(address);
    const family = isIP(unwrapped);
    if (!family) return `"${address}" is not an IP address`;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.allowedAddresses.check(unwrapped, type)) return undefined;
    if (this.blocked.check(unwrapped, type)) return `${address} is a loopback, private, link-local or metadata address`;
    return undefined;
  }
}

/** `::ffff:127.0.0.1` is 127.0.0.1: check mapped IPv4 as IPv4. */
function unwrapMapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

const BLOCKED_V4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
];

const BLOCKED_V6: ReadonlyArray<[string, number]> = [
  ['::', 127], // :: and ::1
  ['64:ff9b::', 96], // NAT64 reaches IPv4 (and so its private ranges)
  ['fc00::', 7], // unique local, including AWS's metadata fd00:ec2::254
  ['fe80::', 10],
  ['ff00::', 8],
];
