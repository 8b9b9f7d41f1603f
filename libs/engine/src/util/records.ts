/**
 * Helpers for records keyed by user-chosen names (step ids, input names). Plain assignment
 * with a key such as `__proto__` would change the object's prototype instead of adding a
 * property, so every such record is written through `setOwn`.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  // Only `__proto__` is an accessor on Object.prototype; any other key assigns an own data
  // property, and plain assignment keeps the object's fast shape (defineProperty costs several
  // times as much and was 3% of the planner's CPU).
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

export function getOwn<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
