"""Users' credentials, sessions and tokens, and the privilege checks every command goes through."""
