"""Sign-in: OpenID Connect with Google and Microsoft, session tokens, the current user."""
