#!/usr/bin/env bash
# One short GPU session (about 5 minutes on an H100): the CUDA tests, then the full benchmark,
# whose JSON record lands in ${OUT:-benchmarks/results}/ (commit it and add a row to
# benchmarks/README.md). Run from the repository root after `pip install -e ".[test]"`.
set -uo pipefail
out="${OUT:-benchmarks/results}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu_check_nvidia_smi.txt"
python -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_losses.py tests/test_ap_kernel.py -k "cuda or gpu" 2>&1 | tee "$out/gpu_check_tests.txt"
tests_rc=${PIPESTATUS[0]}
ltml-bench bench --json --out "$out" > "$out/gpu_check_bench.json"
bench_rc=$?
echo "tests exit $tests_rc, bench exit $bench_rc"
exit $(( tests_rc != 0 || bench_rc != 0 ))
