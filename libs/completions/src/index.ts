export { CompletionsModule } from './completions.module';
export {
  CompletionsService,
  type CompletionOutcome,
  type CacheStatus,
} from './completions.service';
export { parseCompletionBody, type ParsedCompletion } from './completion-request.parser';
