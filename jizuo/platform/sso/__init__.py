"""OpenID Connect provider: single sign-on for the district's applications (see docs/sso.md)."""
