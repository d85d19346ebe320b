// The dev system starts its own PostgreSQL and Redis is optional: no shared services needed.
export default function setup() {}
