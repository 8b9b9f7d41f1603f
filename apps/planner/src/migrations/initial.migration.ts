import { Migration, outboxTableSql } from '@trellis/persistence';
import { PlannerAnalysis } from './analysis.migration';
import { PlannerIterations } from './iterations.migration';
import { PlannerStream } from './stream.migration';
import { PlannerRunningRuns } from './running-runs.migration';
import { PlannerRunActor } from './actor.migration';
import { PlannerRouting } from './routing.migration';
import { PlannerRunVersion } from './run-version.migration';
import { PlannerOrderedJson } from './ordered-json.migration';
import { PlannerAdmission } from './admission.migration';
import { PlannerRunList } from './run-list.migration';
import { PlannerOrchestration } from './orchestration.migration';
import { PlannerReplay } from './replay.migration';
import { PlannerRevisedBest } from './revised-best.migration';
import { PlannerHotUpdates } from './hot-updates.migration';

export class PlannerInitial extends Migration {
  override name = 'PlannerInitial';

  override up(): void {
    this.addSql(`create table "planner"."spec" (
      "hash" varchar(64) primary key,
      "spec" jsonb not null,
      "created_at" timestamptz not null default now());`);
    this.addSql(`create table "planner"."pipeline" (
      "id" varchar(36) primary key,
      "project" varchar(63) not null,
      "name" varchar(100) not null,
      "version" int not null,
      "description" text null,
      "spec_hash" varchar(64) not null references "planner"."spec" ("hash"),
      "created_at" timestamptz not null default now(),
      constraint "pipeline_project_name_version_unique" unique ("project", "name", "version"));`);
    this.addSql(`create table "planner"."run" (
      "id" varchar(36) primary key,
      "project" varchar(63) not null,
      "pipeline" varchar(100) not null,
      "pipeline_version" int not null,
      "spec_hash" varchar(64) not null references "planner"."spec" ("hash"),
      "status" varchar(16) not null,
      "inputs" jsonb not null,
      "input_tokens" int not null default 0,
      "output_tokens" int not null default 0,
      "error" jsonb null,
      "created_at" timestamptz not null default now(),
      "finished_at" timestamptz null);`);
    this.addSql(`create index "run_project_created_at_index" on "planner"."run" ("project", "created_at");`);
    this.addSql(`create table "planner"."step_run" (
      "run_id" varchar(36) not null references "planner"."run" ("id") on delete cascade,
      "step_id" varchar(64) not null,
      "status" varchar(16) not null,
      "attempt" int not null default 0,
      "model" varchar(200) not null,
      "output" text null,
      "messages" jsonb null,
      "error" jsonb null,
      "score" double precision null,
      "input_tokens" int not null default 0,
      "output_tokens" int not null default 0,
      "executor" varchar(255) null,
      "dispatched_at" timestamptz null,
      "started_at" timestamptz null,
      "finished_at" timestamptz null,
      primary key ("run_id", "step_id"));`);
    this.addSql(outboxTableSql('planner'));
  }
}

export const PLANNER_MIGRATIONS = [
  { name: 'PlannerInitial', class: PlannerInitial },
  { name: 'PlannerRouting', class: PlannerRouting },
  { name: 'PlannerAnalysis', class: PlannerAnalysis },
  { name: 'PlannerIterations', class: PlannerIterations },
  { name: 'PlannerStream', class: PlannerStream },
  { name: 'PlannerRunningRuns', class: PlannerRunningRuns },
  { name: 'PlannerRunActor', class: PlannerRunActor },
  { name: 'PlannerRunVersion', class: PlannerRunVersion },
  { name: 'PlannerOrderedJson', class: PlannerOrderedJson },
  { name: 'PlannerRunList', class: PlannerRunList },
  { name: 'PlannerAdmission', class: PlannerAdmission },
  { name: 'PlannerOrchestration', class: PlannerOrchestration },
  { name: 'PlannerReplay', class: PlannerReplay },
  { name: 'PlannerRevisedBest', class: PlannerRevisedBest },
  { name: 'PlannerHotUpdates', class: PlannerHotUpdates },
];
