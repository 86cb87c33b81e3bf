"""A tree ensemble as native code: the Treelite model of a compiled model
(:mod:`ml.modeling.compiled`) turned into C by TL2cgen, built into a shared library
with the machine's C compiler and called through ctypes.

The library is built where the model is loaded (it is the machine's code, so it
is not logged with the model) into a cache folder, one sub-folder per fingerprint:
the SHA-256 of the model's bytes, TL2cgen's version, the compiler's identity and
flags and the code added here. A restart, another worker or the batch flow with
the same model and toolchain loads the library built before instead of compiling
again; builds of one fingerprint wait for each other (a lock file), and a library
appears in its folder only once it is complete.

Settings (environment variables):

- ``CRM_NATIVE_CACHE_DIR``: the cache folder (default
  ``$XDG_CACHE_HOME/opsctl/native-trees``, else ``~/.cache/opsctl/native-trees``);
  created with mode 0700 and refused unless it belongs to this user and no one
  else may write to it (a library there is code this process runs);
- ``CC``: the C compiler (default ``gcc``);
- ``CRM_NATIVE_TREES=off``: never build one.

:func:`checked_native` is how a compiled model (``CompiledModel.native``) gets it:
kept only when its probabilities equal the pipeline's (``TOLERANCE``), else the
ensemble scores with GTIL and the status's ``problem`` says why.

What the library computes is the ensemble's raw score (its margin) for rows of
float64 features, NaN for a missing value: TL2cgen's generated test for a missing
value reads the low half of the double, which a real value can match, so it is
rewritten to ``isnan`` and the rows are passed as they are, without a copy.
:func:`native_trees` raises :class:`NativeUnavailable` (its message says why)
when any of this cannot be done; the caller then scores with Treelite's GTIL.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from ml.modeling.compiled import TOLERANCE, CompiledModel

FORMAT = 1
FLAGS = ("-O1", "-fPIC", "-std=gnu99", "-fopenmp")
"""-O1: on the largest ensemble the search can pick (300 trees of 48 leaves) gcc 12 built
it in 8 s against 16 s at -O2, and the code scored as fast (measured, 2026-12)."""
LIBRARY = "trees.so"
COMPILE_TIMEOUT_S = 900
ENTRY_POINTS = """
#include "header.h"

int32_t crm_num_feature(void) { return get_num_feature(); }
int32_t crm_num_outputs(void) {
  int32_t classes[N_TARGET];
  get_num_class(classes);
  return N_TARGET * classes[0];
}

static void crm_row(const double* row, double* out) {
  double result[N_TARGET * MAX_N_CLASS] = {0};
  predict((union Entry*)row, 1, result);
  *out = result[0];
}

void crm_margins(const double* rows, int64_t n, int64_t width, double* out) {
  for (int64_t i = 0; i < n; ++i) crm_row(rows + i * width, out + i);
}

void crm_margins_threads(const double* rows, int64_t n, int64_t width, int32_t threads,
                         double* out) {
  int64_t i;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (i = 0; i < n; ++i) crm_row(rows + i * width, out + i);
}
"""
NATIVE_FALLBACK = "native tree code not used ({why}); scoring with Treelite's GTIL"
"""The status's ``problem`` when a tree ensemble scores with GTIL instead of native code."""
_MISSING = re.compile(r"data\[(\d+)\]\.missing ([!=])= -1")

builds = 0
"""Libraries compiled by this process (a cached one loaded does not count)."""


class NativeUnavailable(RuntimeError):
    """No native library for this ensemble (the message says why)."""


@dataclass(frozen=True)
class NativeTrees:
    """A built library: the ensemble's margins for float64 rows (NaN: missing)."""

    path: Path
    width: int
    library: Any = None  # ctypes.CDLL

    def margins(self, rows: np.ndarray, threads: int = 1) -> np.ndarray:
        """The raw score of each of ``rows`` (C-contiguous float64, ``width`` columns)."""
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.width:
            raise ValueError(f"rows of {rows.shape[-1]} columns, the ensemble takes {self.width}")
        out = np.empty(len(rows), dtype=np.float64)
        if threads > 1:
            self.library.crm_margins_threads(rows.ctypes.data, len(rows), self.width, threads,
                                             out.ctypes.data)  # fmt: skip
        else:
            self.library.crm_margins(rows.ctypes.data, len(rows), self.width, out.ctypes.data)
        return out


def with_native(model: CompiledModel) -> tuple[CompiledModel, str | None]:
    """``model`` with its tree ensemble as native code (a copy; ``model`` itself for
    another family), and None; or ``model`` and why no native code could be built."""
    if model.runtime != "treelite" or model.trees is None:
        return model, None
    try:
        return replace(model, native=native_trees(model.trees)), None
    except NativeUnavailable as exc:
        return model, str(exc)
    except Exception as exc:  # never lose the compiled model for want of native code
        return model, f"{type(exc).__name__}: {exc}"


def checked_native(
    model: CompiledModel, difference: Callable[[CompiledModel], float]
) -> tuple[CompiledModel, float, str | None]:
    """(the model to score with, its ``difference`` from the pipeline, the status's
    ``problem`` or None): ``model`` with native code (:func:`with_native`) when it
    builds and its difference is within :data:`TOLERANCE`, else ``model`` as it is
    (GTIL) with :data:`NATIVE_FALLBACK` saying why."""
    native, why = with_native(model)
    if native.native is None:
        found = difference(model)
        return model, found, NATIVE_FALLBACK.format(why=why) if why else None
    try:
        found = difference(native)
    except Exception as exc:  # a library that fails to run: GTIL scores instead
        why = f"it fails: {type(exc).__name__}: {exc}"
    else:
        if found <= TOLERANCE:
            return native, found, None
        why = f"it differs by {found:.3g} from the pipeline (tolerance {TOLERANCE:g})"
    return model, difference(model), NATIVE_FALLBACK.format(why=why)


def cache_dir() -> Path:
    """The cache folder (``CRM_NATIVE_CACHE_DIR``, see the module docstring)."""
    if os.environ.get("CRM_NATIVE_CACHE_DIR"):
        return Path(os.environ["CRM_NATIVE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opsctl" / "native-trees"


def native_trees(trees: Any, cache: Path | None = None) -> NativeTrees:
    """The native library of ``trees`` (a ``treelite.Model``): loaded from ``cache``
    (default :func:`cache_dir`) when built before, else generated, compiled and
    loaded. Raises NativeUnavailable."""
    if os.environ.get("CRM_NATIVE_TREES", "").lower() in ("off", "0", "false", "no"):
        raise NativeUnavailable("turned off (CRM_NATIVE_TREES)")
    try:
        import tl2cgen
    except ImportError as exc:
        raise NativeUnavailable(f"tl2cgen is not installed ({exc})") from exc
    compiler = os.environ.get("CC") or "gcc"
    found = shutil.which(compiler)
    if found is None:
        raise NativeUnavailable(f"no C compiler: {compiler!r} is not on PATH")
    folder = _private(cache or cache_dir())
    model = trees.serialize_bytes()
    key = _fingerprint(model, found)
    target = folder / key
    try:
        with open(folder / f"{key}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (target / LIBRARY).exists():
                _build(tl2cgen, trees, found, folder, target)
        built = _load(target / LIBRARY)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NativeUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if built.width != trees.num_feature:
        raise NativeUnavailable(f"library of {built.width} features, model of {trees.num_feature}")
    return built


def _private(folder: Path) -> Path:
    """``folder``, created 0700; refused unless this user owns it and only it may write."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.stat()
    except OSError as exc:
        raise NativeUnavailable(f"cache folder {folder}: {exc}") from exc
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise NativeUnavailable(
            f"cache folder {folder} is not private to this user (owner and mode 0700 expected)"
        )
    return folder


def _toolchain(compiler: str) -> str:
    try:
        done = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NativeUnavailable(f"C compiler {compiler} does not run: {exc}") from exc
    if done.returncode != 0:
        raise NativeUnavailable(f"C compiler {compiler} --version exited {done.returncode}")
    return done.stdout.splitlines()[0] if done.stdout else compiler


def _fingerprint(model: bytes, compiler: str) -> str:
    try:
        generator = version("tl2cgen")
    except PackageNotFoundError:  # imported from a source tree
        generator = "unknown"
    digest = hashlib.sha256()
    for part in (str(FORMAT), generator, compiler, _toolchain(compiler), " ".join(FLAGS),
                 ENTRY_POINTS):  # fmt: skip
        digest.update(part.encode() + b"\0")
    digest.update(model)
    return digest.hexdigest()[:40]


def _build(tl2cgen: Any, trees: Any, compiler: str, folder: Path, target: Path) -> None:
    """Generate, rewrite and compile the library into ``target`` (it appears whole)."""
    global builds
    cores = max(1, len(os.sched_getaffinity(0)))
    with tempfile.TemporaryDirectory(dir=folder, prefix=".build-") as work:
        source = Path(work) / "src"
        try:
            tl2cgen.generate_c_code(trees, dirpath=str(source), params={"parallel_comp": cores})
        except Exception as exc:  # TL2cgen refuses a model it cannot translate
            raise NativeUnavailable(f"tl2cgen: {type(exc).__name__}: {exc}") from exc
        files = sorted(source.glob("*.c"))
        for path in files:
            text = _MISSING.sub(_isnan, path.read_text())
            if ".missing" in text:
                raise NativeUnavailable(f"tl2cgen's {path.name} tests missing values unknown ways")
            path.write_text(text)
        (source / "crm_entry.c").write_text(ENTRY_POINTS)
        files.append(source / "crm_entry.c")

        def compile_one(path: Path) -> subprocess.CompletedProcess[str]:
            command = [compiler, *FLAGS, "-c", str(path), "-o", str(path.with_suffix(".o"))]
            return subprocess.run(command, capture_output=True, text=True,
                                  timeout=COMPILE_TIMEOUT_S, cwd=source)  # fmt: skip

        with ThreadPoolExecutor(cores) as pool:
            results = list(pool.map(compile_one, files))
        library = source / LIBRARY
        link = [compiler, "-shared", "-fopenmp", "-o", str(library),
                *(str(p.with_suffix(".o")) for p in files), "-lm"]  # fmt: skip
        for done in [*results, subprocess.run(link, capture_output=True, text=True, timeout=300)]:
            if done.returncode != 0:
                message = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise NativeUnavailable(f"{Path(compiler).name} failed: {' '.join(message)}")
        built = Path(work) / "out"
        built.mkdir()
        os.replace(library, built / LIBRARY)
        if target.exists():  # a folder left without its library
            shutil.rmtree(target)
        os.replace(built, target)
        builds += 1


def _isnan(match: re.Match[str]) -> str:
    test = f"isnan(data[{match[1]}].fvalue)"
    return test if match[2] == "=" else f"!{test}"


def _load(path: Path) -> NativeTrees:
    try:
        library = ctypes.CDLL(str(path))
    except OSError as exc:
        raise NativeUnavailable(f"cannot load {path}: {exc}") from exc
    library.crm_num_feature.restype = ctypes.c_int32
    library.crm_num_outputs.restype = ctypes.c_int32
    outputs = int(library.crm_num_outputs())
    if outputs != 1:
        raise NativeUnavailable(f"the ensemble has {outputs} outputs, expected one")
    rows, out = ctypes.c_void_p, ctypes.c_void_p
    library.crm_margins.argtypes = [rows, ctypes.c_int64, ctypes.c_int64, out]
    library.crm_margins.restype = None
    library.crm_margins_threads.argtypes = [rows, ctypes.c_int64, ctypes.c_int64,
                                            ctypes.c_int32, out]  # fmt: skip
    library.crm_margins_threads.restype = None
    return NativeTrees(path, int(library.crm_num_feature()), library)
