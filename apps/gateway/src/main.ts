import { runService } from '@trellis/runtime';
import { loadGatewayConfig } from './config';
import { GatewayModule } from './gateway.module';
import { answerOversizedBodies } from './http/body-limit';
import { acceptYamlBodies } from './http/spec-body';

const config = loadGatewayConfig();

runService({
  service: 'gateway',
  config: () => config,
  module: (c) => GatewayModule.forRoot(c),
  bodyLimit: (c) => c.GATEWAY_BODY_LIMIT,
  configure: (app) => {
    acceptYamlBodies(app);
    answerOversizedBodies(app, config.GATEWAY_BODY_LIMIT);
  },
});
