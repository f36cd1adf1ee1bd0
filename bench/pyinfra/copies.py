"""bench/run.sh's copies workload (bench/copies/copies.rhai, op for op): KBZ_BENCH_COPIES_N
small files per host, one files.put each, in one folder."""

import os
from io import StringIO

from pyinfra.operations import files

DIR = "/opt/kbz-bench-copies"
files.directory(name="copies folder", path=DIR, mode="755")
for i in range(int(os.environ["KBZ_BENCH_COPIES_N"])):
    files.put(name=f"copy {i}", src=StringIO(f"file {i}\n"), dest=f"{DIR}/f{i}", mode="644")
