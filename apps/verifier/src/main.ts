import { runService } from '@trellis/runtime';
import { loadVerifierConfig } from './config';
import { VerifierModule } from './verifier.module';

runService({ service: 'verifier', config: loadVerifierConfig, module: (c) => VerifierModule.forRoot(c) });
