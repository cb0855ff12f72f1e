import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { CidrBlock } from '@gateway/config';

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * Who is on the other end of a request, for rules that count per client (the failed-authentication
 * throttle). The socket's peer, unless that peer is a trusted proxy: then the `X-Forwarded-For`
 * entry it added. Walking the header from the right, each entry was appended by the hop after it,
 * so entries are believed only while the hop that wrote them is trusted; anything further left was
 * written by the client and could say anything.
 */
export class ClientAddressResolver {
  private readonly trusted: BlockList | null;

  constructor(proxies: readonly CidrBlock[]) {
    if (proxies.length === 0) {
      this.trusted = null;
      return;
    }
    this.trusted = new BlockList();
    for (const p of proxies) this.trusted.addSubnet(p.network, p.prefix, p.family);
  }

  /** The client's address, normalised (`::ffff:a.b.c.d` as `a.b.c.d`); `unknown` without a peer. */
  resolve(req: IncomingMessage): string {
    const peer = normalise(req.socket?.remoteAddress ?? '');
    if (peer === null) return 'unknown';
    if (this.trusted === null || !this.isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    const chain = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
    let client = peer;
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = normalise(chain[i].trim());
      // A trusted proxy never writes garbage: a malformed entry came from further left, so the
      // last address a trusted hop vouched for is the best we know.
      if (hop === null) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }

  isTrusted(address: string): boolean {
    if (this.trusted === null) return false;
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The key one client is counted under: an IPv4 address, or the /64 of an IPv6 one, since a single
 * IPv6 host is usually handed a whole /64 and could otherwise rotate through it.
 */
export function clientCountingKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups === null ? address : `${groups.slice(0, 4).join(':')}::/64`;
}

function normalise(raw: string): string | null {
  // Some proxies add the port (`1.2.3.4:5678`) or brackets (`[2001:db8::1]:443`).
  let address = raw;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1];
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(address)) address = address.replace(/:\d+$/, '');
  const mapped = MAPPED_V4.exec(address);
  if (mapped) address = mapped[1];
  const family = isIP(address);
  if (family === 0) return null;
  return family === 6 ? address.toLowerCase() : address;
}

/** Eight 16-bit groups of a valid IPv6 address, in lowercase hex without leading zeros. */
function expandIpv6(address: string): string[] | null {
  let text = address;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) =>
    parseInt(g, 16).toString(16),
  );
}
