#!/bin/bash
# Submits a PASTIS -> Zarr conversion as a Slurm job array of N tasks (convert.sbatch) and its
# finalize job (finalize.sbatch), chained with afterok; prints the two job ids on stdout
# ("CONVERT_JOB FINALIZE_JOB"). SRC, DST, N and OPTIONS as in convert.sbatch; any arguments are
# passed to both sbatch calls (e.g. --partition=cpu --time=02:00:00 --account=...).
#   SRC=/shared/PASTIS-R DST=/shared/PASTIS-R.zarr N=16 deploy/slurm/submit.sh
# Wait for the end with `squeue -j CONVERT_JOB,FINALIZE_JOB` (empty once both are done), then
# read pastis-finalize-FINALIZE_JOB.out; or submit with --wait... see docs/scale-out.md.
set -euo pipefail
: "${SRC:?set SRC}" "${DST:?set DST}" "${N:?set N}"
export SRC DST N OPTIONS="${OPTIONS:-}"
here=$(cd "$(dirname "$0")" && pwd)
convert=$(sbatch --parsable --array="0-$((N - 1))" "$@" "$here/convert.sbatch")
convert=${convert%%;*} # "ID;CLUSTER" on multi-cluster set-ups
finalize=$(sbatch --parsable --dependency="afterok:$convert" --kill-on-invalid-dep=yes "$@" \
  "$here/finalize.sbatch")
finalize=${finalize%%;*}
echo "submitted convert array $convert (tasks 0-$((N - 1))) and finalize $finalize" >&2
echo "$convert $finalize"
