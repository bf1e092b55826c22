"""Route modules, one per transport."""
