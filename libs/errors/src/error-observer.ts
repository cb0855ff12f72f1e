import type { IncomingMessage } from 'node:http';
import type { MappedError } from './error-mapping';

/**
 * Hook the filter awaits before answering an error, so a failed tenant request's audit record is
 * durable before its response is sent. Provided by the audit lib; absent in apps without one.
 */
export abstract class ErrorObserver {
  abstract onError(req: IncomingMessage, error: MappedError): Promise<void>;
}
