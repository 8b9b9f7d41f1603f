// Standalone simulator: `npm run start:simulator`, or started by `npm start` when no model
// endpoint is configured. Dependency-free beyond zod so it starts in a blink.
import { loadSimulatorConfig } from './config';
import { startSimulator } from './simulator';

async function main(): Promise<void> {
  const config = loadSimulatorConfig(process.env);
  if (!config.ok) {
    process.stderr.write(`llm-simulator: invalid configuration\n${config.errors.map((e) => `  ${e}`).join('\n')}\n`);
    process.exit(78); // EX_CONFIG, as the services do
  }
  const sim = await startSimulator(config.options);
  process.stdout.write(`llm-simulator listening on ${sim.url}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second signal means "now": do not wait for open streams to be cut.
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write(`llm-simulator: ${signal}, stopping\n`);
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`llm-simulator: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`llm-simulator: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
