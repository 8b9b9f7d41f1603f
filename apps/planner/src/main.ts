import { runService } from '@trellis/runtime';
import { loadPlannerConfig } from './config';
import { PlannerModule } from './planner.module';

runService({ service: 'planner', config: loadPlannerConfig, module: (c) => PlannerModule.forRoot(c) });
