// The engine decides; it never performs I/O (STYLE.md, principle 4).

export { compilePipeline } from './spec/compile-pipeline';
export type { CompiledPipeline, CompiledStep, CompileOptions, CompileResult, ModelInfo } from './spec/compiled-pipeline';
export { planView } from './spec/plan-view';
export { canonicalJson, specHash } from './spec/spec-hash';

export { resolveInputs, type ResolveInputsResult } from './inputs/resolve-inputs';

export { renderPrompt, type PromptScope } from './render/render-prompt';
export { templateVariables } from './render/template-variables';
export { RenderError, type RenderErrorReason } from './render/render-error';

export { initialRunState, FINAL_STEP_STATUSES } from './run/run-state';
export type { Decision, FinalStepStatus, RunEvent, RunState, StepState, StepVerdict } from './run/run-state';
export { advanceRun, BUDGET_EXHAUSTED } from './run/advance-run';
export { admits, concurrencyGroup, estimatedWaitMs } from './run/admission';
export { decideRunChange, type DecideOptions, type RunChange, type RunInput, type IgnoredInput, type Outgoing } from './run/run-change';
export { newRunSnapshot, newStepRecord, stepValue, type NewRun, type RunRecord, type RunSnapshot, type StepOrigin, type StepRecord } from './run/run-record';
export type { IterationRecord } from './run/rounds';
export { buildProducts, type ProductFile } from './run/products';

export { planReplay, replaySnapshot, pinOf, type ReplayFields, type ReplayPlan, type ReplayPlanResult, type ReplaySource, type ReplayTarget } from './replay/replay-plan';
export { replayTemplates, pinLookups, askedRef, type TemplateLookup } from './replay/replay-templates';
export { specWithModels } from './replay/replay-spec';
export { requestHash, callsToRecord, matchRecordedCall, replayMissReason } from './replay/recorded-calls';
export { diffRuns, jsonChanges } from './replay/run-diff';
export { textDiff, conversationText } from './replay/text-diff';

export { evaluateDeterministicGate, isDeterministicGate, combineGates, type GateResult } from './verify/gates';
export { checkAcceptance, type Acceptance } from './verify/acceptance';
export { buildFeedback, feedbackVariables, type FeedbackArgs } from './verify/feedback';
export { resolveVerifyPolicy } from './verify/policy';
export { decideRound, bestOf, type RoundInput, type LoopDecision, type NextRoundPrompt } from './verify/loop';
export { nextStrongerModel } from './verify/escalation';
export { MAX_REGEX_INPUT_CHARS } from './verify/regex-safety';

export { topologicalOrder, batchesOf, type DependencyGraph } from './graph/topology';
export { findCycles, stronglyConnectedComponents, type CycleReport } from './graph/cycles';

export { BUILT_IN_TEMPLATES, builtInTemplate, ORCHESTRATION_TEMPLATES, type BuiltInTemplate } from './orchestration/built-in-templates';
export { effectiveParameters, callParams, type EffectiveParameters, type OwnSettings } from './orchestration/parameters';
export { templateNeeds, checkPins, roleProblem, splitRef, ROLE_VARIABLES, type TemplateNeed, type TemplateRole } from './orchestration/template-needs';
export { renderMessages, renderText } from './render/render-messages';
export { judgeMessages, judgeVariables } from './verify/judge-prompt';
export { planReuse, laterRoundSchema, mergeReused, keptValues, fieldsNamed, outputFields, outputTokensSaved, type ReusePlan } from './verify/reuse';
export { applyStrategy } from './spec/strategy';
export { stepCall, pinnedTemplate, type StepCall } from './run/step-call';
