export { AdmissionModule } from './admission.module';
export { AdmissionService } from './admission.service';
export { RATE_WINDOW_MS, reservationLifetimeMs } from './admission.settings';
export type {
  ActualUsage,
  AdmissionDemand,
  AdmissionTicket,
  MonthSpend,
  Speculation,
} from './admission.types';
export { AdmissionSpendReader } from './admission-spend.reader';
export { BudgetReservationEntity } from './budget-reservation.entity';
export {
  inputTokenUpperBound,
  promptTokenUpperBound,
  type PromptMessage,
} from './prompt-token-bound';
