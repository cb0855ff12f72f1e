import { strictFake } from './__fixtures__/strict-fake';
import { BudgetAlertDispatcher } from './budget-alert.dispatcher';
import type { BudgetAlert, BudgetAlertSender } from './budget-alert.sender';
import { utcMonthOf } from './utc-month';

describe('BudgetAlertDispatcher', () => {
  it('sends one alert per claimed threshold, with the tenant’s webhook and budget', () => {
    const sent: BudgetAlert[] = [];
    const dispatcher = new BudgetAlertDispatcher(
      strictFake<BudgetAlertSender>('sender', { send: (a: BudgetAlert) => void sent.push(a) }),
    );
    const profile = { fractions: [0.5, 0.8], budgetUnits: 1_000, url: 'https://h/x', secret: 's' };
    dispatcher.fire('t1', ['0.5', '0.8'], 850, profile, utcMonthOf(Date.UTC(2026, 11, 5)));
    dispatcher.fire('t1', [], 900, profile, utcMonthOf(Date.UTC(2026, 11, 5)));
    expect(sent).toEqual([
      {
        tenantId: 't1',
        threshold: '0.5',
        spendUnits: 850,
        budgetUnits: 1_000,
        month: '2026-12',
        url: 'https://h/x',
        secret: 's',
      },
      expect.objectContaining({ threshold: '0.8' }),
    ]);
  });

  it('an unlimited budget reads as 0 in the alert body', () => {
    const sent: BudgetAlert[] = [];
    const dispatcher = new BudgetAlertDispatcher(
      strictFake<BudgetAlertSender>('sender', { send: (a: BudgetAlert) => void sent.push(a) }),
    );
    const profile = { fractions: [1], budgetUnits: null, url: null, secret: null };
    dispatcher.fire('t1', ['1'], 5, profile, utcMonthOf(Date.UTC(2026, 11, 5)));
    expect(sent[0].budgetUnits).toBe(0);
  });
});
