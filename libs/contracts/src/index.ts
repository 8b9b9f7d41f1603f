// The public surface of @trellis/contracts: what services exchange, as data (STYLE.md, principle 3):
// subjects, the CloudEvent envelope, zod schemas of events, work items, RPC and HTTP bodies,
// and the failure taxonomy. Depends on zod alone; the console imports it in the browser too.
// Named exports of what other libs and apps import, nothing else.

export { Namespace, PoolName, DEFAULT_POOL, subjects, resultQueues } from './subjects';
export { nameSchema } from './names';
export type { Subjects } from './subjects';
export { CloudEventEnvelope, defineEvent } from './cloudevent';
export type { EventContract, EventData } from './cloudevent';
export type { OutboxRow } from './outbox-row';
export { TokenUsage, RunStatus, DEFAULT_PRIORITY, StepStatus, FailureInfo, ChatMessage } from './common';
export {
  InputType, InputSpec, JudgeGateSpec, Gate, VERIFY_DEFAULTS, IterateSpec, IteratePolicySpec, VerifyDefaults,
  Selection, StepSpec, PipelineSpec,
} from './pipeline-spec';
export {
  ReplayMode, ModelCallRequest, CallRequest, CallAnswer, RecordedCall, JudgeCall, ReplayCall, ReplayJob,
  RunSource, ReplayOverrides, TextDiff, JsonChange, StepDifference, StepDiff, RunDiff,
} from './replay';
export {
  StepOutputSpec, RetryPolicy, StepReady, VerifyPolicy, PinnedTemplate, VerifyRound, VerifyRequested,
  ProductsRequested, ExperimentOutcome, AdmissionRequested,
} from './work';
export {
  RunStarted, RunQueued, StepDispatched, StepProgress, StructuredOutputRequest, StepGenerated, StepFailed,
  Violation, StopReason, GateOutcome, CandidateRef, StepVerified, StepCompleted, RunResumed, RunCompleted,
  EVENT_CONTRACTS,
} from './events';
export {
  TemplateCategory, TemplateLevel, LabelName, TemplateBody, ModelParameters, CreateTemplateBody,
  MoveLabelBody, RenderTemplateBody, TemplateQuery, ListTemplatesQuery, TemplateVersionView, TemplateSummary,
  CreatedTemplateVersion, TemplateLookup, LabelView, RenderedTemplate, ExperimentStatus, ExperimentKind,
  CreateExperimentBody, PromoteExperimentBody, ListExperimentsQuery, VariantView, VariantResults,
  VariantComparison, ExperimentView, ExperimentSummary,
} from './templates';
export {
  ErrorCode, Issue, RpcError, rpcReply, SpecSource, PlanView, PipelineAnalysis, PipelineView, PipelineSummary,
  StrategyVariant, StrategyPin, IterationView, StepView, ProductView, ProjectBudget, ProjectUsage, RunView,
  RunSummary, PlannerRpc, ResolvedTemplate, TemplateRef, RegistryRpc, RunExport,
} from './rpc';
export type { RpcReply, RpcMethod } from './rpc';
export {
  PROCESS_ID_HEADER, CreateRunBody, ReplayRunBody, ListRunsQuery, Problem, CreateProjectBody,
  UpdateProjectBody, ProjectView, CreateApiKeyBody, ApiKeyView, CreatedApiKey, IdempotencyKey,
  PipelineVersion, OverrideAlignmentQuery, PipelineQuery, AuditAction, AuditRecord, ListAuditQuery, AuditList,
} from './http';
export { ToolDefinitionShape } from './tools';
export type { ToolDefinition } from './tools';
export {
  ChatCompletionMessage, ChatCompletionRequest, CompletionUsage, ChatCompletion, ChatCompletionChunk,
  ModelObject, ModelList, OpenAiError,
} from './openai';
export { pipelineJsonSchema } from './json-schema';
export { messageIds } from './message-ids';
export { TrellisError, DomainError, backoffDelay, exponentialDelays } from './failure';
