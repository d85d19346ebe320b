/** Escapes one value for COPY … FROM STDIN in text format (tab-separated, \N is NULL). */
export function copyValue(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  // Fast path: most cells have nothing to escape.
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}
