import { defineEntity, p } from '@mikro-orm/postgresql';
import type { PipelineSpec } from '@trellis/contracts';

/** A parsed spec, stored once per content hash: pipeline versions and runs point at it. */
export const SpecSchema = defineEntity({
  name: 'Spec',
  tableName: 'spec',
  properties: {
    hash: p.string().primary(),
    spec: p.json<PipelineSpec>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Spec extends SpecSchema.class {}
SpecSchema.setClass(Spec);

/** A registered pipeline version of one project. Versions are immutable and numbered from 1. */
export const PipelineSchema = defineEntity({
  name: 'Pipeline',
  tableName: 'pipeline',
  properties: {
    id: p.string().primary(),
    project: p.string(),
    name: p.string(),
    version: p.integer(),
    description: p.text().nullable(),
    specHash: p.string(),
    /** The prompt key of the analysis this version shows (`pipeline_analysis.prompt`); null when none was asked for. */
    analysisPrompt: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ properties: ['project', 'name', 'version'] }],
});
export class Pipeline extends PipelineSchema.class {}
PipelineSchema.setClass(Pipeline);

/** The orchestrator model's intention, architecture and alignment verdict for one spec, asked with one prompt. */
export const PipelineAnalysisSchema = defineEntity({
  name: 'PipelineAnalysisRow',
  tableName: 'pipeline_analysis',
  properties: {
    hash: p.string().primary(),
    /** sha256 of the rendered analysis prompt and its parameters; '' for analyses from before the prompt was a template. */
    prompt: p.string().primary(),
    model: p.string(),
    intention: p.text(),
    architecture: p.text(),
    aligned: p.boolean(),
    feedback: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class PipelineAnalysisRow extends PipelineAnalysisSchema.class {}
PipelineAnalysisSchema.setClass(PipelineAnalysisRow);
