import { BlockList, isIP } from 'node:net';

/** Loopback, private, link-local, CGNAT, unspecified and unique-local ranges (RFC 1918, 4193, 6598…). */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/**
 * Whether a webhook URL names a private target by its literal host. Refused at write time, so an
 * operator learns at once, instead of from an alert that never arrives. Names that resolve to
 * private addresses are the sender's concern, checked when it connects.
 */
export function isPrivateWebhookTarget(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 4) return PRIVATE.check(bare, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)?.[1];
    return mapped ? PRIVATE.check(mapped, 'ipv4') : PRIVATE.check(bare, 'ipv6');
  }
  return false;
}
