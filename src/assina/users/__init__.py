"""Console users: who signs in to /console, their roles, sessions and the sign-in throttle.

The domain only; the pages, cookies and CSRF checks live in `console/` (docs/console.md)."""
