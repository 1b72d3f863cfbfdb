.PHONY: bench

# The HTTP benchmark against PostgreSQL (bench/BENCH.md).
bench:
	bench/run
