import { isPrivateAddress, publicOnlyLookup, webhookUrlProblem } from './webhook-target';

describe('webhook targets', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
  ])('refuses %s', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
    expect(
      webhookUrlProblem(`http://${ip.includes(':') ? `[${ip}]` : ip}/hook`, false),
    ).not.toBeNull();
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])('allows %s', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });

  it('checks scheme, credentials and loopback names, and lets the operator allow private', () => {
    expect(webhookUrlProblem('ftp://example.com/x', false)).toBe('not http(s)');
    expect(webhookUrlProblem('https://u:p@example.com/x', false)).toBe('credentials in the URL');
    expect(webhookUrlProblem('http://localhost:8080/x', false)).toBe('loopback host name');
    expect(webhookUrlProblem('https://example.com/hook', false)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9/hook', true)).toBeNull();
    expect(webhookUrlProblem('not a url', true)).toBe('not a URL');
  });

  it('refuses at connect time a name that resolves to a private address', (done) => {
    publicOnlyLookup('localhost', {}, (err) => {
      expect(err?.code).toBe('EWEBHOOKPRIVATE');
      done();
    });
  });
});

describe('webhookUrlProblem on literal hosts in URLs', () => {
  it.each([
    'http://localhost:8080/x',
    'http://api.localhost/x',
    'http://169.254.169.254/latest/meta-data',
    'http://[fe80::1]/x',
    'http://[::ffff:127.0.0.1]/x',
  ])('refuses %s', (url) => {
    expect(webhookUrlProblem(url, false)).not.toBeNull();
  });

  it.each([
    'https://hooks.example.com/x',
    'https://8.8.8.8/x',
    'http://172.32.0.1/x',
    'http://[2001:4860:4860::8888]/x',
  ])('allows %s', (url) => {
    expect(webhookUrlProblem(url, false)).toBeNull();
  });
});
