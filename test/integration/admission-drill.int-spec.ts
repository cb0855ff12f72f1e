import { writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import type { AdmissionTicket } from '@gateway/admission';
import { unitsToDecimalString } from '@gateway/billing';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  type AdmissionInstance,
  sleep,
  startAdmission,
  tenantContext,
  tryAdmit,
  uniquePrefix,
} from '../support/admission';

/*
 * The budget drill (spend never exceeds the budget, however many requests race): CI runs a few
 * rounds; `npm run drill:budget` runs 20
 * (ADMISSION_DRILL_RUNS) and prints the worst overshoot seen, which must be 0.
 * Each round, on a fresh tenant and 3 instances sharing Redis:
 *  A. 200 concurrent requests against a budget of exactly 100 worst cases → admitted − 100;
 *  B. 30 workers admit → wait → settle a random actual cost ≤ worst, until the budget is used up
 *     → spend − budget (units of 1e-10 USD), and the settled costs must equal Redis's spend.
 */
const RUNS = Number(process.env.ADMISSION_DRILL_RUNS ?? 3);
const REPORT = process.env.ADMISSION_DRILL_REPORT;

jest.setTimeout(60_000 + RUNS * 15_000);

interface Round {
  run: number;
  worstUnits: number;
  budgetUnits: number;
  admittedOfTwoHundred: number;
  requestOvershoot: number;
  spendUnits: number;
  settledUnits: number;
  unitOvershoot: number;
}

describe('budget drill', () => {
  let db: TestDatabase;
  let fleet: AdmissionInstance[];

  beforeAll(async () => {
    db = await createTestDatabase('adm_drill');
    const prefix = uniquePrefix('drill');
    fleet = await Promise.all([0, 1, 2].map(() => startAdmission({ database: db, prefix })));
  });

  afterAll(async () => {
    await Promise.all((fleet ?? []).map((i) => i.close()));
    await db?.drop();
  });

  it(`never overshoots a budget (${RUNS} rounds)`, async () => {
    const rounds: Round[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const worst = randomInt(1_000, 50_000_000);
      const budget = 100 * worst;
      const tenant = tenantContext({
        rateLimit: 100_000,
        monthlyBudget: unitsToDecimalString(budget),
      });
      const demand = {
        promptTokensUpperBound: 500,
        maxCompletionTokens: 500,
        worstCaseCostUnits: worst,
      };

      // A: the race for exactly 100 worst cases.
      const first = await Promise.all(
        Array.from({ length: 200 }, (_, i) => tryAdmit(fleet[i % 3].admission, tenant, demand)),
      );
      const held = first.flatMap((r, i) => (r.ok ? [{ t: r.ticket, at: fleet[i % 3] }] : []));
      let settled = 0;
      const settle = async (t: AdmissionTicket, at: AdmissionInstance) => {
        const cost = randomInt(Math.floor(worst / 2), worst + 1);
        settled += cost;
        await at.admission.settle(tenant, t, {
          promptTokens: 100,
          completionTokens: 100,
          costUnits: cost,
        });
      };

      // B: keep spending until the budget is gone.
      await Promise.all([
        ...held.map(async ({ t, at }) => {
          await sleep(randomInt(0, 30));
          await settle(t, at);
        }),
        ...Array.from({ length: 30 }, async (_, w) => {
          const at = fleet[w % 3];
          let refusals = 0;
          while (refusals < 15) {
            const r = await tryAdmit(at.admission, tenant, demand);
            if (!r.ok) {
              refusals += 1;
              await sleep(5);
              continue;
            }
            await sleep(randomInt(0, 20));
            await settle(r.ticket, at);
          }
        }),
      ]);
      const spend = (await fleet[0].admission.monthSpend(tenant.tenantId))?.spendUnits ?? NaN;
      rounds.push({
        run,
        worstUnits: worst,
        budgetUnits: budget,
        admittedOfTwoHundred: held.length,
        requestOvershoot: Math.max(0, held.length - 100),
        spendUnits: spend,
        settledUnits: settled,
        unitOvershoot: Math.max(0, spend - budget),
      });
    }
    const worstRequests = Math.max(...rounds.map((r) => r.requestOvershoot));
    const worstUnits = Math.max(...rounds.map((r) => r.unitOvershoot));
    const summary =
      `budget drill: ${RUNS} rounds, worst overshoot ${worstRequests} requests, ` +
      `${worstUnits} units ($${unitsToDecimalString(worstUnits)}); ` +
      `min spend/budget ${Math.min(...rounds.map((r) => r.spendUnits / r.budgetUnits)).toFixed(4)}\n`;
    if (REPORT) writeFileSync(REPORT, JSON.stringify({ summary, rounds }, null, 2));
    process.stdout.write(summary);

    for (const r of rounds) {
      expect(r.admittedOfTwoHundred).toBe(100);
      expect(r.spendUnits).toBe(r.settledUnits);
    }
    expect(worstRequests).toBe(0);
    expect(worstUnits).toBe(0);
  });
});
