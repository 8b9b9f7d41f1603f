import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { RegistryRpc } from '@trellis/contracts';
import { OnRpc, type RpcRequest } from '@trellis/runtime';
import { ExperimentService } from '../experiments/experiment.service';
import { TemplateResolverService } from '../templates/template-resolver.service';
import { TemplateService } from '../templates/template.service';

/**
 * The registry's request/reply surface: parse (done by the transport against the method's
 * contract), call one service method, return. `ping` is served after every other method.
 */
@Controller()
export class RegistryRpcServer {
  constructor(
    private readonly resolver: TemplateResolverService,
    private readonly templates: TemplateService,
    private readonly experiments: ExperimentService,
  ) {}

  @OnRpc(RegistryRpc.resolveTemplates)
  resolveTemplates(@Payload() r: RpcRequest<typeof RegistryRpc.resolveTemplates>) {
    return this.resolver.resolve(r);
  }

  @OnRpc(RegistryRpc.renderTemplate)
  renderTemplate(@Payload() r: RpcRequest<typeof RegistryRpc.renderTemplate>) {
    return this.resolver.render(r);
  }

  @OnRpc(RegistryRpc.createTemplate)
  createTemplate(@Payload() r: RpcRequest<typeof RegistryRpc.createTemplate>) {
    return this.templates.create(r);
  }

  @OnRpc(RegistryRpc.listTemplates)
  listTemplates(@Payload() r: RpcRequest<typeof RegistryRpc.listTemplates>) {
    return this.templates.list(r.project, r.category);
  }

  @OnRpc(RegistryRpc.getTemplate)
  getTemplate(@Payload() r: RpcRequest<typeof RegistryRpc.getTemplate>) {
    return this.templates.lookup(r.project, r.name, r.feature);
  }

  @OnRpc(RegistryRpc.moveLabel)
  moveLabel(@Payload() r: RpcRequest<typeof RegistryRpc.moveLabel>) {
    return this.templates.moveLabel(r);
  }

  @OnRpc(RegistryRpc.createExperiment)
  createExperiment(@Payload() r: RpcRequest<typeof RegistryRpc.createExperiment>) {
    return this.experiments.create(r);
  }

  @OnRpc(RegistryRpc.getExperiment)
  getExperiment(@Payload() r: RpcRequest<typeof RegistryRpc.getExperiment>) {
    return this.experiments.get(r.project, r.id);
  }

  @OnRpc(RegistryRpc.listExperiments)
  listExperiments(@Payload() r: RpcRequest<typeof RegistryRpc.listExperiments>) {
    return this.experiments.list(r.project, r);
  }

  @OnRpc(RegistryRpc.updateExperiment)
  updateExperiment(@Payload() r: RpcRequest<typeof RegistryRpc.updateExperiment>) {
    return this.experiments.setStatus(r);
  }

  @OnRpc(RegistryRpc.promoteExperiment)
  promoteExperiment(@Payload() r: RpcRequest<typeof RegistryRpc.promoteExperiment>) {
    return this.experiments.promote(r);
  }

  @OnRpc(RegistryRpc.ping)
  ping() {
    return {};
  }
}
