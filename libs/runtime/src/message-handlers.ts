import { applyDecorators, Catch, UseFilters, type RpcExceptionFilter } from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import type { EventContract, RpcMethod } from '@trellis/contracts';
import { patterns, type HandlerExtras, type OnEventOptions } from './handler-metadata';
import { throwError, type Observable } from 'rxjs';
import type { z } from 'zod';

export type { ConsumerSettings, OnEventOptions } from './handler-metadata';

/**
 * Hands a handler's error to the transport as it was thrown. Nest's default RPC filter would
 * turn anything but an `RpcException` into "Internal server error", and with it lose what
 * decides the settlement: a `RetryableError`'s delay, a `NonRetryableError`, an `RpcFailure`'s
 * code. The transport maps errors in one place (the consumer runner, `serveRpc`).
 */
@Catch()
export class PassErrorsToTransport implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

const passErrors = UseFilters(new PassErrorsToTransport());

/**
 * Consumes a JetStream contract with the transport's consumer runner: the filter subject is
 * derived from the contract (and the stream), never restated. The handler resolves to ack,
 * throws to nak (retryable, with its delay) or dead-letter and term (non-retryable, or past
 * `maxDeliver`). Arguments: `@Payload()` the validated data, `@Ctx()` the `MessageContext`.
 *
 * For example, `OnEvent(StepGenerated, { stream: 'events', durable: 'planner-step-generated',
 * settings: (c: PlannerConfig) => ({ concurrency: c.PLANNER_CONCURRENCY }) })`.
 */
export function OnEvent<Config = never>(contract: EventContract, options: OnEventOptions<Config>): MethodDecorator {
  const extras: HandlerExtras = { kind: 'event', contract, options: options as OnEventOptions<unknown> };
  return applyDecorators(EventPattern<string>(patterns.event(options.durable), extras), passErrors);
}

/**
 * Called after a message of these durables was dead-lettered (inside the runner's settlement:
 * if it throws, the message is redelivered and dead-lettered again). `@Payload()` is the
 * `DeadLetterInfo`.
 */
export function OnDeadLetter(...durables: string[]): MethodDecorator {
  // One EventPattern with every pattern: a second EventPattern on a method replaces the first's.
  return applyDecorators(EventPattern<string[]>(durables.map(patterns.deadLetter), { kind: 'dead-letter' } satisfies HandlerExtras), passErrors);
}

/**
 * Serves a request/reply method on `subjects(ns).rpc(service, method)`: the request is
 * validated against the method's schema before the handler sees it; an `RpcFailure` or
 * `DomainError` becomes an error reply with its code. `@Payload()` is the parsed request.
 */
export function OnRpc<M extends RpcMethod>(method: M): RpcMethodDecorator<M> {
  return applyDecorators(MessagePattern(patterns.rpc(method), { kind: 'rpc', method } satisfies HandlerExtras), passErrors);
}

/** A request of `M`, as its handler receives it (validated, defaults applied). */
export type RpcRequest<M extends RpcMethod> = z.output<M['request']>;

/** Checks the decorated method against the contract: it takes the request and returns (a promise of) the response. */
export type RpcMethodDecorator<M extends RpcMethod> = (
  target: object,
  key: string | symbol,
  descriptor: { value?: (request: RpcRequest<M>) => Promise<z.input<M['response']>> | z.input<M['response']> },
) => void;
