"""Reading transaction data: Parquet files into user-grouped numpy arrays."""

from cardworld.io.transactions import TransactionArrays, parquet_files, read_transactions

__all__ = ["TransactionArrays", "parquet_files", "read_transactions"]
