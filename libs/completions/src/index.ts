export { CompletionsModule } from './completions.module';
export {
  CompletionsService,
  type CompletionOutcome,
  type CacheStatus,
} from './completions.service';
export { CompletionsEndpoint, type CompletionFormat } from './completions.endpoint';
export { CompletionsFront } from './completions.front';
export { parseCompletionBody, type ParsedCompletion } from './completion-request.parser';
