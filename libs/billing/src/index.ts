export { UNITS_PER_USD, unitsToUsd, unitsToDecimalString, usdToUnits } from './money';
export { costUnits, worstCaseUnits, maxCompletionTokens, type TokenUsage } from './cost';
