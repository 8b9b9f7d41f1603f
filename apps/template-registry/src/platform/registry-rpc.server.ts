import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { RegistryRpc, type RpcMethod } from '@trellis/contracts';
import { RpcHost } from '@trellis/runtime';
import type { z } from 'zod';
import { ExperimentService } from '../experiments/experiment.service';
import { TemplateResolver } from '../templates/template-resolver.service';
import { TemplateService } from '../templates/template.service';

/** The registry's request/reply surface: parse (done by serveRpc), call one service method, return. */
@Injectable()
export class RegistryRpcServer implements OnApplicationBootstrap {
  constructor(
    private readonly rpc: RpcHost,
    private readonly resolver: TemplateResolver,
    private readonly templates: TemplateService,
    private readonly experiments: ExperimentService,
  ) {}

  onApplicationBootstrap(): void {
    this.serve(RegistryRpc.resolveTemplates, (r) => this.resolver.resolve(r));
    this.serve(RegistryRpc.renderTemplate, (r) => this.resolver.render(r));
    this.serve(RegistryRpc.createTemplate, (r) => this.templates.create(r));
    this.serve(RegistryRpc.listTemplates, (r) => this.templates.list(r.project, r.category));
    this.serve(RegistryRpc.getTemplate, (r) => this.templates.lookup(r.project, r.name, r.feature));
    this.serve(RegistryRpc.moveLabel, (r) => this.templates.moveLabel(r));
    this.serve(RegistryRpc.createExperiment, (r) => this.experiments.create(r));
    this.serve(RegistryRpc.getExperiment, (r) => this.experiments.get(r.project, r.id));
    this.serve(RegistryRpc.listExperiments, (r) => this.experiments.list(r.project, r));
    this.serve(RegistryRpc.updateExperiment, (r) => this.experiments.setStatus(r));
    this.serve(RegistryRpc.promoteExperiment, (r) => this.experiments.promote(r));
    // Last: an answer to ping means every method above is served.
    this.serve(RegistryRpc.ping, () => Promise.resolve({}));
  }

  private serve<M extends RpcMethod>(method: M, handler: (request: z.infer<M['request']>) => Promise<z.input<M['response']>>): void {
    this.rpc.serve(method, handler);
  }
}
