/** Values of these options are never echoed in an error message. */
const SECRET_PATHS = /(secret|password|privateKey)$/i;

/** Renders an offending option value for an error message without leaking secrets. */
export function describeValue(path: string, value: unknown): string {
  if (SECRET_PATHS.test(path)) {
    return typeof value === 'string' ? `a string of ${Buffer.byteLength(value)} bytes` : typeof value;
  }
  if (/url$/i.test(path) && typeof value === 'string') return JSON.stringify(value.replace(/\/\/[^/@]*@/, '//***@'));
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  // JSON.stringify renders NaN and Infinity as null, which hides what was actually passed.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
