import { runService } from '@trellis/runtime';
import { loadGatewayConfig } from './config';
import { serveConsole } from './console/console-assets';
import { GatewayModule } from './gateway.module';
import { answerOversizedBodies } from './http/body-limit';
import { acceptYamlBodies } from './http/spec-body';

const config = loadGatewayConfig();

runService({
  service: 'gateway',
  config: () => config,
  module: (c) => GatewayModule.forRoot(c),
  bodyLimit: (c) => c.GATEWAY_BODY_LIMIT,
  configure: async (app) => {
    acceptYamlBodies(app);
    answerOversizedBodies(app, config.GATEWAY_BODY_LIMIT);
    await serveConsole(app, config.GATEWAY_CONSOLE_DIR);
  },
});
