"""HTTP protections: rate limits, body size limits, CSRF checks, security headers, client addresses."""
