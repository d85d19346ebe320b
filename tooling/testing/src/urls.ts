/** Returns `url` with its database, and optionally its user and password, replaced. */
export function withDatabase(
  url: string,
  database: string,
  credentials?: { user: string; password?: string },
): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (credentials) {
    parsed.username = encodeURIComponent(credentials.user);
    parsed.password = credentials.password ? encodeURIComponent(credentials.password) : '';
  }
  return parsed.toString();
}
