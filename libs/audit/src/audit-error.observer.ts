import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { maybeRequestContext } from '@gateway/context';
import { ErrorObserver, type MappedError } from '@gateway/errors';
import { RequestRecorder } from './request-recorder.service';

/**
 * Awaited by the global exception filter before it answers an error: a tenant request's failure
 * record is durable before the client sees the error. Requests without a tenant (bad key, admin
 * routes, unknown routes) are not part of the audit log.
 */
@Injectable()
export class AuditErrorObserver extends ErrorObserver {
  constructor(private readonly recorder: RequestRecorder) {
    super();
  }

  async onError(req: IncomingMessage, error: MappedError): Promise<void> {
    const ctx = maybeRequestContext(req);
    const tenant = ctx?.tenant;
    if (!ctx || !tenant) return;
    await this.recorder.recordFailure(ctx, tenant, error);
  }
}
