import { runService } from '@trellis/runtime';
import { loadExecutorConfig } from './config';
import { ExecutorModule } from './executor.module';

runService({ service: 'executor', config: loadExecutorConfig, module: (c) => ExecutorModule.forRoot(c) });
