import { type ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { echoInput, GatewayError } from '@gateway/errors';

/**
 * class-validator DTOs → GatewayError('invalid_request') naming the first offending field, with
 * `param` its dotted path (docs/api.md §4 and §7). Unknown fields are refused, not silently dropped, so a
 * typo in an admin call is a clear 400 instead of a setting that did not change.
 */
@Injectable()
export class GatewayValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) => toGatewayError(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && this.toValidate(metadata) && value != null) {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new GatewayError('invalid_request', 'Request body must be a JSON object.');
      }
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

export function toGatewayError(errors: readonly ValidationError[]): GatewayError {
  const found = firstFailure(errors, '');
  if (!found) return new GatewayError('invalid_request', 'Invalid request.');
  // Property names are the client's: quote them bounded and escaped, in the message and `param`.
  const path = echoInput(found.path);
  const { error } = found;
  const constraints = error.constraints ?? {};
  let message = constraints.whitelistValidation
    ? `Unknown field: ${path}.`
    : (Object.values(constraints)[0] ?? `${path} is invalid`);
  // class-validator names the leaf property; prefer the full path for nested fields.
  if (path !== error.property && message.startsWith(`${error.property} `)) {
    message = `${path}${message.slice(error.property.length)}`;
  }
  return new GatewayError('invalid_request', message, { param: path || null });
}

function firstFailure(
  errors: readonly ValidationError[],
  parent: string,
): { path: string; error: ValidationError } | null {
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints && Object.keys(error.constraints).length > 0) return { path, error };
    const nested = firstFailure(error.children ?? [], path);
    if (nested) return nested;
  }
  return null;
}
