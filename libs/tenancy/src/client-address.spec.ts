import type { IncomingMessage } from 'node:http';
import { parseCidrList } from '@gateway/config';
import { ClientAddressResolver, clientCountingKey } from './client-address';

function req(peer: string | undefined, xff?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  } as unknown as IncomingMessage;
}

function resolver(list: string): ClientAddressResolver {
  const problems: string[] = [];
  const blocks = parseCidrList('TRUSTED_PROXIES', list, problems);
  expect(problems).toEqual([]);
  return new ClientAddressResolver(blocks);
}

describe('ClientAddressResolver', () => {
  it('uses the peer and ignores X-Forwarded-For when no proxy is trusted', () => {
    const r = resolver('');
    expect(r.resolve(req('10.0.0.5', '203.0.113.9'))).toBe('10.0.0.5');
    expect(r.resolve(req('::ffff:127.0.0.1'))).toBe('127.0.0.1');
    expect(r.resolve(req(undefined))).toBe('unknown');
  });

  it('matches CIDR blocks of both families, IPv4-mapped peers included', () => {
    const r = resolver('10.0.0.0/8, 192.168.1.5, 2001:db8::/32');
    expect(r.isTrusted('10.255.1.2')).toBe(true);
    expect(r.isTrusted('11.0.0.1')).toBe(false);
    expect(r.isTrusted('192.168.1.5')).toBe(true);
    expect(r.isTrusted('192.168.1.6')).toBe(false);
    expect(r.isTrusted('2001:db8:ffff::1')).toBe(true);
    expect(r.isTrusted('2001:db9::1')).toBe(false);
    expect(r.isTrusted('not-an-ip')).toBe(false);
    expect(r.resolve(req('::ffff:10.1.1.1', '203.0.113.9'))).toBe('203.0.113.9');
  });

  it('takes the entry the trusted proxy added, not what the client wrote before it', () => {
    const r = resolver('10.0.0.0/8');
    // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw.
    expect(r.resolve(req('10.0.0.2', '1.1.1.1, 203.0.113.9'))).toBe('203.0.113.9');
    // Two trusted hops: the load balancer's entry for the ingress proxy is skipped.
    expect(r.resolve(req('10.0.0.2', '203.0.113.9, 10.0.0.3'))).toBe('203.0.113.9');
    // Repeated headers are one list.
    expect(r.resolve(req('10.0.0.2', ['1.1.1.1', '203.0.113.9']))).toBe('203.0.113.9');
    // Ports and brackets that some proxies add.
    expect(r.resolve(req('10.0.0.2', '203.0.113.9:5555'))).toBe('203.0.113.9');
    expect(r.resolve(req('10.0.0.2', '[2001:DB8::7]:443'))).toBe('2001:db8::7');
  });

  it('falls back to the last trusted hop on a missing or malformed entry', () => {
    const r = resolver('10.0.0.0/8');
    expect(r.resolve(req('10.0.0.2'))).toBe('10.0.0.2');
    expect(r.resolve(req('10.0.0.2', 'garbage'))).toBe('10.0.0.2');
    expect(r.resolve(req('10.0.0.2', 'garbage, 10.0.0.3'))).toBe('10.0.0.3');
    expect(r.resolve(req('10.0.0.2', '10.0.0.4, 10.0.0.3'))).toBe('10.0.0.4');
  });
});

describe('clientCountingKey', () => {
  it('keeps IPv4 addresses and groups IPv6 by /64', () => {
    expect(clientCountingKey('203.0.113.9')).toBe('203.0.113.9');
    expect(clientCountingKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientCountingKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(clientCountingKey('::1')).toBe('0:0:0:0::/64');
    expect(clientCountingKey('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });
});
