import { isPrivateWebhookTarget } from './webhook-target';

describe('isPrivateWebhookTarget', () => {
  it.each([
    'http://localhost:8080/x',
    'http://api.localhost/x',
    'http://127.0.0.1/x',
    'http://10.1.2.3/x',
    'http://172.20.0.1/x',
    'http://192.168.1.10/x',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/x',
    'http://0.0.0.0/x',
    'http://[::1]/x',
    'http://[fe80::1]/x',
    'http://[fd00::1]/x',
    'http://[::ffff:127.0.0.1]/x',
  ])('flags %s', (url) => {
    expect(isPrivateWebhookTarget(url)).toBe(true);
  });

  it.each([
    'https://hooks.example.com/x',
    'https://8.8.8.8/x',
    'http://172.32.0.1/x',
    'http://[2001:4860:4860::8888]/x',
  ])('allows %s', (url) => {
    expect(isPrivateWebhookTarget(url)).toBe(false);
  });
});
