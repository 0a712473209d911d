"""SQL: statement splitting, classification, Snowport's own commands, and dispatch."""
