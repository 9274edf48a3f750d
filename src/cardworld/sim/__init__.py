"""The consumer simulator: trips, balances and the transactions they produce."""
