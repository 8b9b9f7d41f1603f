import { DomainError } from '@trellis/contracts';

/** The registry's domain error (a code from the shared set and, for bad input, every issue). */
export class RegistryError extends DomainError {}
