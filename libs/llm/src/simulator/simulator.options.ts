import { z } from 'zod';
import type { SimulatedMessage } from './chat-request';
import type { SimDirective } from './directives';

/** Models served by `GET /v1/models` unless configured otherwise. */
export const DEFAULT_SIMULATOR_MODELS: readonly string[] = ['gpt-4.1', 'gpt-4.1-mini', 'gpt-4o-mini', 'claude-sonnet-4', 'sim-judge'];

/** Behaviour that can change while the simulator runs (`configure`, `POST /_sim/config`). */
export interface SimulatorSettings {
  /** Delay before each answer, in ms; a stream spreads it across its chunks. Default 0. */
  latencyMs: number;
  /** Models listed by `GET /v1/models`. */
  models: string[];
  /** When false, a chat request for a model outside `models` gets a 404 `model_not_found`. Default true. */
  acceptAnyModel: boolean;
  /**
   * Models (`*`: every model) that refuse `response_format` (`json_schema` or `json_object`)
   * with a 400 worded like OpenAI's, as a server without structured outputs does. Default none.
   */
  noResponseFormat: string[];
}

/** Options of {@link startSimulator}. */
export interface SimulatorOptions extends Partial<SimulatorSettings> {
  /** TCP port; 0 (the default) picks a free ephemeral port. */
  port?: number;
  /** Interface to bind; default 127.0.0.1 (a test tool has no business on other interfaces). */
  host?: string;
  /**
   * The key every `/v1/*` request must carry as `Authorization: Bearer <key>`, as a real
   * provider demands one: a request without it, or with another, gets OpenAI's 401
   * `invalid_api_key`. Unset, any request is answered. The `/_sim/*` control endpoints and
   * `/healthz` never ask for it.
   */
  apiKey?: string;
  /**
   * In process only: the content of the answer to a valid request, or undefined for the
   * usual answer. Lets a test script answers that depend on the request (a judge scoring
   * round 1 low and round 2 high) while the client still talks HTTP. A `reply` or `json`
   * directive wins over it; `status` and `drop` directives still fail the request first.
   */
  respond?: (request: SimulatedCall) => string | undefined;
}

/** What {@link SimulatorOptions.respond} sees of a request. */
export interface SimulatedCall {
  model: string;
  messages: SimulatedMessage[];
  /** `response_format` as sent, or null. */
  responseFormat: Record<string, unknown> | null;
  /** The sampling parameters sent (`temperature`, `top_p`, `max_completion_tokens`, `max_tokens`, penalties, `stop`, `seed`), those present only. */
  parameters: Record<string, unknown>;
}

/** A partial settings update, validated the same way in process and over HTTP. */
export const SimulatorSettingsPatch = z.strictObject({
  latencyMs: z.number().nonnegative().max(600_000).optional(),
  models: z.array(z.string().min(1)).optional(),
  acceptAnyModel: z.boolean().optional(),
  noResponseFormat: z.array(z.string().min(1)).optional(),
});

/** One chat completions request as the simulator received and answered it. */
export interface SimulatedRequest {
  /** Also sent as the `x-request-id` response header. */
  id: string;
  /** Epoch ms with sub-millisecond precision (`performance.timeOrigin + performance.now()`). */
  receivedAt: number;
  /**
   * When the answer was complete (last stream byte written), the socket was dropped, or the
   * client went away; null while in flight.
   */
  respondedAt: number | null;
  /** null when the body could not be parsed. */
  model: string | null;
  messages: SimulatedMessage[];
  stream: boolean;
  /** `response_format` as sent, or null. */
  responseFormat: Record<string, unknown> | null;
  /** The sampling parameters sent (`temperature`, `top_p`, `max_completion_tokens`, `max_tokens`, penalties, `stop`, `seed`), those present only. */
  parameters: Record<string, unknown>;
  /** HTTP status answered; null while in flight, after a `drop`, or when the client left first. */
  status: number | null;
  directives: SimDirective[];
}

/** A running simulator. */
export interface SimulatorHandle {
  /** Base URL for an OpenAI client, ending in `/v1`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and cuts open connections (streams in progress included). */
  close(): Promise<void>;
  /** Recorded chat requests, oldest first (at most the last 10,000); copies, safe to keep. */
  requests(): SimulatedRequest[];
  /** Forgets recorded requests and `times` counters, and restores the settings given at start. */
  reset(): void;
  /** Changes settings for subsequent requests; returns the settings now in force. Throws on an invalid value. */
  configure(patch: Partial<SimulatorSettings>): SimulatorSettings;
}
