"""`flask tokens …`: API tokens for the programme office's own tooling."""
