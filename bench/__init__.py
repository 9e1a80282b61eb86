"""medkg's benchmarks. Run ``python -m bench --help`` from the repository root."""
