/** Shape checks shared by the option rules: a raw option object, and the keys it may hold. */
export type RawOptions = Record<string, unknown>;

export const isOptionObject = (value: unknown): value is RawOptions =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A misspelt key (`ttl.idel`) would otherwise fall back to the default without a word. */
export function unknownKeys(path: string, value: RawOptions, known: readonly string[]): string[] {
  return Object.keys(value)
    .filter((key) => !known.includes(key))
    .map((key) => `${path}.${key} is not a known option (known: ${known.join(', ')})`);
}
