// The public surface of @trellis/engine. The engine decides; it never performs I/O (STYLE.md, principle 4):
// compile a pipeline, advance a run, verify, plan replays. Named exports of what apps import, nothing else.

export { compilePipeline } from './spec/compile-pipeline';
export type { CompiledStep, CompiledPipeline, ModelInfo, CompileOptions } from './spec/compiled-pipeline';
export { planView } from './spec/plan-view';
export { canonicalJson } from './spec/spec-hash';
export { resolveInputs } from './inputs/resolve-inputs';
export { renderPrompt } from './render/render-prompt';
export type { PromptScope } from './render/render-prompt';
export { templateVariables } from './render/template-variables';
export { RenderError } from './render/render-error';
export { BUDGET_EXHAUSTED } from './run/advance-run';
export { concurrencyGroup, admits, estimatedWaitMs } from './run/admission';
export { decideRunChange } from './run/run-change';
export type { RunInput, Outgoing, DecideOptions } from './run/run-change';
export { newRunSnapshot } from './run/run-record';
export type { RunRecord, StepRecord, RunSnapshot, NewRun } from './run/run-record';
export type { IterationRecord } from './run/rounds';
export { buildProducts } from './run/products';
export type { ProductFile } from './run/products';
export { planReplay, pinOf, replaySnapshot } from './replay/replay-plan';
export { replayTemplates, askedRef, pinLookups } from './replay/replay-templates';
export { specWithModels } from './replay/replay-spec';
export { requestHash, callsToRecord, matchRecordedCall, replayMissReason } from './replay/recorded-calls';
export { diffRuns } from './replay/run-diff';
export { evaluateDeterministicGate, combineGates } from './verify/gates';
export { decideRound } from './verify/loop';
export type { LoopDecision } from './verify/loop';
export { ORCHESTRATION_TEMPLATES, BUILT_IN_TEMPLATES, builtInTemplate } from './orchestration/built-in-templates';
export type { BuiltInTemplate } from './orchestration/built-in-templates';
export { effectiveParameters, callParams } from './orchestration/parameters';
export { templateNeeds, splitRef, checkPins, roleProblem } from './orchestration/template-needs';
export type { TemplateNeed } from './orchestration/template-needs';
export { renderMessages } from './render/render-messages';
export { judgeVariables, judgeMessages } from './verify/judge-prompt';
export { planReuse } from './verify/reuse';
export { applyStrategy } from './spec/strategy';
export { stepCall } from './run/step-call';
