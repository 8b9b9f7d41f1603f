import type { SimulatedRequest, SimulatorHandle } from '@trellis/llm';

/**
 * The requests the simulator received whose conversation mentions `mentioning` (anywhere)
 * and has a message starting with `startingWith`: how system tests pick out the calls of
 * one step of one run among everything a shared simulator saw.
 */
export function modelCalls(simulator: SimulatorHandle, filter: { mentioning?: string; startingWith?: string }): SimulatedRequest[] {
  return simulator.requests().filter(
    (r) =>
      (filter.mentioning === undefined || JSON.stringify(r.messages).includes(filter.mentioning)) &&
      (filter.startingWith === undefined || r.messages.some((m) => m.content.startsWith(filter.startingWith!))),
  );
}
