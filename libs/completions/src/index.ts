export { CompletionsModule } from './completions.module';
export {
  CompletionsService,
  type CompletionExchange,
  type CompletionOutcome,
  type CompletionPlan,
} from './completions.service';
export { CompletionsEndpoint, type CompletionFormat } from './completions.endpoint';
export { CompletionRequestGuard, ReplyFormat } from './completion-request.guard';
export { parseCompletionBody, type ParsedCompletion } from './completion-request.parser';
