import { DomainError } from '@trellis/contracts';

/** The planner's domain error (a code from the shared set and, for bad input, every issue). */
export class PlannerError extends DomainError {}
