import { z } from 'zod';

/**
 * The form of the names that become one NATS subject token, part of a durable consumer's name
 * or a URL segment — namespaces, pools, projects, features, variants, providers, tools:
 * lower-case letters, digits, "-" and "_", at most 63 characters, not starting with "-" or "_".
 */
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A name of that form; `subject` opens the error message ("a feature is", "pool names are"). */
export function nameSchema(subject?: string) {
  return z.string().regex(NAME_PATTERN, `${subject ? `${subject} ` : ''}lower-case letters, digits, "-" and "_", at most 63 characters`);
}
