import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Kvm, type KV } from '@nats-io/kv';
import { subjects } from '@trellis/contracts';
import type { NatsConnection } from '@trellis/messaging';
import { NATS } from '@trellis/runtime';
import { logger } from '@trellis/telemetry';
import { REGISTRY_CONFIG, type RegistryConfig } from '../config';

/** The one key of the bucket: its value changes with every change (a fresh id, nothing else). */
export const GENERATION_KEY = 'generation';

/** Tries of one bump before it is given up (and logged: planners then rely on their answers' expiry). */
const BUMP_TRIES = 3;

/**
 * The registry's generation, in a NATS KV bucket every planner watches: a planner keeps the
 * answers it got for runs in no experiment (the same references, project, feature and pipeline
 * answer the same until something changes here) and drops them when the generation moves. Every
 * change a resolution could see — a template version, a label, an experiment's creation, status
 * or promotion, seeding — bumps it after it commits and before the change is answered: a planner
 * hears the bump before any start the answer led to (on one NATS server; within milliseconds on
 * a cluster).
 */
@Injectable()
export class RegistryGeneration {
  private readonly log = logger('registry.generation');
  private kv: Promise<KV> | undefined;

  constructor(
    @Inject(REGISTRY_CONFIG) private readonly config: RegistryConfig,
    @Inject(NATS) private readonly nc: NatsConnection,
  ) {}

  async bump(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await (await this.open()).put(GENERATION_KEY, randomUUID());
        return;
      } catch (err) {
        this.kv = undefined;
        if (attempt === BUMP_TRIES) {
          this.log.error({ err }, 'the registry generation could not be bumped: planners may start runs on their cached answers until these expire');
          return;
        }
      }
    }
  }

  private open(): Promise<KV> {
    this.kv ??= new Kvm(this.nc).create(subjects(this.config.TRELLIS_NAMESPACE).buckets.registry, { history: 1, replicas: this.config.NATS_STREAM_REPLICAS });
    return this.kv;
  }
}
