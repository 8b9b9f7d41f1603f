import { runService } from '@trellis/runtime';
import { loadRegistryConfig } from './config';
import { TemplateRegistryModule } from './template-registry.module';

runService({ service: 'template-registry', config: loadRegistryConfig, module: (c) => TemplateRegistryModule.forRoot(c) });
