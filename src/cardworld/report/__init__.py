"""Summary statistics of a generated world."""
