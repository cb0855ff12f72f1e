import type { AdmissionMode } from './admission-mode.machine';

/** A mode transition the machine does not allow from its current mode: a bug in the caller. */
export class IllegalModeTransitionError extends Error {
  constructor(
    readonly from: AdmissionMode,
    readonly transition: string,
  ) {
    super(`admission mode: ${transition} is not allowed in mode ${from}`);
    this.name = 'IllegalModeTransitionError';
  }
}
