"""The benchmarks' ceiling: a separate, minimal Django project (CommonMiddleware only, one view returning a fixed
page, no database), served by the same server with the same worker configuration as the store (bench/harness.py)."""
