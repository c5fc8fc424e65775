#!/usr/bin/env bash
# The Python package's tests (the second half of README's test command, after `cargo test`):
# the package built into a virtual environment and tested against the `nestedvm` command.
#
# The virtual environment is .venv-test/ (git-ignored), made once and reused. The wheel is
# built by maturin in the workspace's target directory, so only the extension crate and the
# library's feature set without clap are compiled for it (Cranelift is shared).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== the Python package (python/)"
venv=.venv-test
# The package's `ray` extra (python/pyproject.toml): manylinux wheels for CPython 3.9 to 3.13.
ray_requirement="ray>=2.50,<3"
if [ ! -x "$venv/bin/maturin" ] || [ ! -x "$venv/bin/pytest" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "maturin>=1.9.4,<2" pytest pyrevm==0.3.7
fi
# Ray for nestedvm.ray's tests (a local cluster): added to a venv made before they existed.
# Not optional: without it the Ray tests would fail, never be skipped.
if ! "$venv/bin/python" -c 'import ray' 2>/dev/null; then
    "$venv/bin/pip" install --quiet "$ray_requirement"
fi
# pyrevm: the other side of python/bench/bench_pyrevm.py, whose agreement check is a test;
# installed into a venv made before it was needed.
"$venv/bin/python" -c "import pyrevm" 2>/dev/null || "$venv/bin/pip" install --quiet pyrevm==0.3.7
# The shipped command, which the tests answer the same requests with.
cargo build --release -p nestedvm-cli
wheels=target/wheels/python
rm -rf "$wheels"
# Built as a wheel and installed, not `maturin develop`: the tests see what `pip install` does.
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" build --release --manifest-path python/Cargo.toml \
    --interpreter "$venv/bin/python" --out "$wheels"
"$venv/bin/pip" install --quiet --force-reinstall --no-deps "$wheels"/nestedvm-*.whl
# Run from the repository root with the pytest script (not `python -m`): the source package in
# python/nestedvm/, which has no extension module, is then not on the path.
NESTEDVM_BIN="$PWD/target/release/nestedvm" "$venv/bin/pytest" -q python/tests
