#!/usr/bin/env bash
# Installs what pastis-bridge needs on a Debian machine with a Rust toolchain (run as root):
# the system libraries (GDAL, HDF5), their command-line tools (and ncdump, netcdf-bin), QGIS with
# its Python bindings (the tests open every export in real QGIS, headless, with the system
# python3), and a Python venv (.venv) with the reference readers (numpy, zarr, xarray, h5py,
# h5netcdf, netCDF4, rasterio, pyogrio) the
# interoperability tests use, plus the Python loader of python/ (installed editable, with fsspec
# and s3fs).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libgdal-dev libhdf5-dev pkg-config gdal-bin hdf5-tools netcdf-bin zstd pigz qgis python3-qgis qgis-providers
  slurm-wlm munge # slurm-wlm, munge: tests/slurm.rs starts a single-node Slurm cluster
  make) # make: tikv-jemalloc-sys builds jemalloc, the command's allocator, with configure + make
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

venv=.venv
requirements=scripts/requirements-interop.txt
stamp="$venv/.installed-$(cat "$requirements" python/pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: creating the Python venv $venv for interoperability tests" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  # The Python loader of this repository (python/, `import pastis_bridge`), editable; its
  # dependencies are pinned in the requirements above.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -e ./python
  touch "$stamp"
fi
