export { ERROR_CODES, type ErrorCode, type ErrorOutcome } from './error-code';
export { GatewayError, type GatewayErrorOptions } from './gateway.error';
export { mapError, type MappedError } from './error-mapping';
export { ErrorObserver } from './error-observer';
export { GatewayExceptionFilter } from './gateway-exception.filter';
export { answerError, sendJson } from './error-response';
export { echoInput, ECHO_MAX_CHARS } from './echo-input';
