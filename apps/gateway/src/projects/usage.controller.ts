import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { PlannerRpc } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { ApiRoute } from '../openapi/api-route';

/** What the key's project used today against its budgets, and its runs running and queued. */
@Controller('v1/usage')
@UseGuards(ApiKeyGuard)
export class UsageController {
  constructor(private readonly rpc: RpcClient) {}

  @Get()
  @ApiRoute({ tag: 'projects', summary: "The key's project: usage today (UTC) against its budgets, runs running and queued", responses: { 200: { description: 'usage', schema: 'Usage' } } })
  async usage(@Req() req: AuthenticatedRequest) {
    const usage = await this.rpc.call(PlannerRpc.usage, { project: req.project });
    return { ...usage, budget: req.principal.budget, maxRunningRuns: req.principal.maxRunningRuns, weight: req.principal.weight };
  }
}
