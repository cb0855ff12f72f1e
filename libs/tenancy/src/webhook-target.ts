import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/*
 * Targets an alert webhook may not reach unless the operator allows private targets
 * (ALERT_WEBHOOK_ALLOW_PRIVATE): loopback, private, link-local, shared (CGNAT), unspecified,
 * benchmarking, multicast and reserved ranges. BlockList checks IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * against the IPv4 ranges, so a mapped address cannot smuggle one in.
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** True for an address alert webhooks may not reach by default. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why this webhook URL is refused, or null when it may be called (DNS is checked at connect). */
export function webhookUrlProblem(url: string, allowPrivate: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'not http(s)';
  if (parsed.username || parsed.password) return 'credentials in the URL';
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0)
    return isPrivateAddress(host) ? 'private, loopback or link-local address' : null;
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback host name';
  return null;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for the webhook connection that refuses private addresses after resolution, so a
 * public name that resolves (or re-resolves: DNS rebinding) to an internal address is refused at
 * the moment of connecting, not just when the URL was checked.
 */
export function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses;
    const blocked = list.find((a) => isPrivateAddress(a.address));
    if (blocked || list.length === 0) {
      const refusal: NodeJS.ErrnoException = new Error(
        `webhook host ${hostname} resolves to a private, loopback or link-local address`,
      );
      refusal.code = 'EWEBHOOKPRIVATE';
      return callback(refusal, []);
    }
    if (options.all) return callback(null, list);
    return callback(null, list[0].address, list[0].family);
  });
}
