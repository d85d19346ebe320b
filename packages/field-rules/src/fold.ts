/**
 * Case and accent folding spelled out character by character, so the TypeScript rules and
 * PostgreSQL's `translate()` fold identically whatever the database collation (`lower()` under
 * the C locale leaves `É` alone). Hyphens fold to spaces, typographic apostrophes to `'`.
 */
export const FOLD_FROM =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿŒœ’-';
export const FOLD_TO = "abcdefghijklmnopqrstuvwxyzaaaaaaaaaaaacceeeeeeeeiiiiiiiinnoooooooooouuuuuuuuyyyoo' ";

const TABLE = new Map<string, string>([...FOLD_FROM].map((c, i) => [c, FOLD_TO[i]!]));

export function fold(value: string): string {
  let out = '';
  for (const c of value) out += TABLE.get(c) ?? c;
  return out;
}
