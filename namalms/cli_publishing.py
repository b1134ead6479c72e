"""`flask content import|history|restore`: the trainer workspace's service from the command line."""
