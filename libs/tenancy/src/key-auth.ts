import type { IncomingMessage } from 'node:http';
import { markStage, type RequestContext, requestContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import type { ApiKeyAuthenticator, KeyResolution } from './api-key-authenticator.service';
import { presentedKey } from './presented-key';

export function invalidKey(): GatewayError {
  return new GatewayError('invalid_api_key', 'Missing or invalid API key.');
}

export type KeyAdmission = (
  ctx: RequestContext,
  resolution: Exclude<KeyResolution, { kind: 'invalid' }>,
) => void;

/**
 * The part every authenticated route shares (both guards and the fast routes): resolve the
 * presented key (synchronously when it is warm), refuse a missing or unknown one (429 instead of
 * 401 for a client over its failed-authentication limit, see AuthFailureThrottle), let `admit`
 * check the scope and fill the context, and only then raise a deferred body error (then a deferred
 * query refusal, StrictQueryGuard), so a malformed request is refused (and audited) under the
 * identity it authenticated as. Body errors (objects
 * with `type`) are mapped to 400/413 by the error mapping.
 */
export function authenticate(
  auth: ApiKeyAuthenticator,
  req: IncomingMessage,
  admit: KeyAdmission,
): boolean | Promise<boolean> {
  const key = presentedKey(req);
  if (key === null) throw invalidKey();
  const finish = (r: KeyResolution): boolean => {
    if (r.kind === 'invalid') throw invalidKey();
    const ctx = requestContext(req);
    admit(ctx, r);
    markStage(ctx, 'auth');
    if (ctx.bodyError != null) throw ctx.bodyError as Error;
    if (ctx.queryError != null) throw ctx.queryError as Error;
    return true;
  };
  const resolution = auth.resolve(key, req);
  return resolution instanceof Promise ? resolution.then(finish) : finish(resolution);
}

/** Tenant routes: sets the tenant (so even a refusal is audited under it), then refuses admin keys and disabled tenants. */
export const admitTenant: KeyAdmission = (ctx, r) => {
  if (r.kind === 'admin') {
    throw new GatewayError('wrong_key_scope', 'An admin key cannot call tenant routes.');
  }
  ctx.tenant = r.tenant;
  if (r.disabled) throw new GatewayError('tenant_disabled', 'This tenant is disabled.');
};
