/** Values of these options are never echoed in an error message. */
const SECRET_PATHS = /(secret|password|privateKey)$/i;

/** Renders an offending option value for an error message without leaking secrets. */
export function describeValue(path: string, value: unknown): string {
  if (SECRET_PATHS.test(path)) {
    return typeof value === 'string' ? `a string of ${Buffer.byteLength(value)} bytes` : typeof value;
  }
  if (/url$/i.test(path) && typeof value === 'string') return JSON.stringify(value.replace(/\/\/[^/@]*@/, '//***@'));
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
