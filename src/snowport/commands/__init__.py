"""Commands: one module per object kind, one function per command; every surface calls these."""
