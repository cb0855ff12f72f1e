/*
 * Bench-only preload (`node -r scripts/bench/admission-off.cjs dist/.../main.js`): replaces
 * admission (rate limits, token limits, budget reservation and settlement) with a no-op so
 * `npm run bench` can measure what admission costs, on vs off, with everything else equal. It is
 * never loaded by the product: a gateway without admission has no limits and no budgets.
 */
'use strict';
const path = require('node:path');

const modulePath = path.resolve(__dirname, '../../dist/libs/admission/src/admission.service.js');
const { AdmissionService } = require(modulePath);

const ticket = Object.freeze({
  headers: Object.freeze({}),
  rateLimitRemaining: 1_000_000,
  reservationId: null,
  mode: 'redis',
  month: new Date().toISOString().slice(0, 7),
  reservedUnits: 0,
  reservedTokens: 0,
});

AdmissionService.prototype.admit = function admitNothing() {
  return Promise.resolve(ticket);
};
AdmissionService.prototype.settle = function settleNothing() {
  return Promise.resolve();
};
process.emitWarning('admission is OFF in this process (bench preload)');
