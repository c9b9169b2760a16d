"""The API benchmark (`make bench-api`): see bench/api.py."""
