import { isIP } from 'node:net';

/** One network of `TRUSTED_PROXIES`: an address and how many leading bits of it matter. */
export interface CidrBlock {
  readonly network: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Parses a comma-separated list of CIDR blocks (`10.0.0.0/8, 2001:db8::/32`); a bare address is
 * one host (/32 or /128). Each bad entry adds one line to `problems`, naming the variable.
 */
export function parseCidrList(
  name: string,
  value: string | undefined,
  problems: string[],
): CidrBlock[] {
  if (!value) return [];
  const blocks: CidrBlock[] = [];
  for (const entry of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const slash = entry.indexOf('/');
    const network = slash < 0 ? entry : entry.slice(0, slash);
    const version = isIP(network);
    if (version === 0) {
      problems.push(`${name}: "${entry}" is not an IP address or CIDR block`);
      continue;
    }
    const max = version === 4 ? 32 : 128;
    const bits = slash < 0 ? String(max) : entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      problems.push(`${name}: "${entry}" needs a prefix length between 0 and ${max}`);
      continue;
    }
    blocks.push({ network, prefix: Number(bits), family: version === 4 ? 'ipv4' : 'ipv6' });
  }
  return blocks;
}
