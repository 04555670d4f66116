# -*- Python -*-
# lit configuration of ganc's golden tests: one folder per compiler stage (parse, sema,
# shape, graph, grad, codegen) and e2e for the driver. Each test runs ganc and checks its
# output with FileCheck.
#
# The paths come from lit.site.cfg.py, which CMake configures from lit.site.cfg.py.in into
# <build>/tests/lit; ctest runs `lit.py -sv <build>/tests/lit`. Without a site config the
# paths can be given as lit parameters:
#
#   lit.py -sv --param ganc_bin=build/bin/ganc tests/lit
#   (optional: --param llvm_tools_dir=/usr/lib/llvm-19/bin --param exec_root=/tmp/ganc-lit)

import os
import shutil
import platform
import sys

import lit.formats

config.name = "ganc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".gan", ".gir", ".test"]
# Inputs folders hold files used by tests (models that are not tests themselves);
# utils holds the helper scripts below.
config.excludes = ["Inputs", "utils"]

config.test_source_root = os.path.dirname(os.path.abspath(__file__))


def setting(name, default=None):
    """A path from the site config, else a --param, else the default."""
    value = getattr(config, name, None) or lit_config.params.get(name) or default
    if value is None:
        lit_config.fatal(
            "'%s' is not set: run lit on the configured build folder "
            "(<build>/tests/lit) or pass --param %s=..." % (name, name)
        )
    return value


config.ganc_bin = os.path.abspath(setting("ganc_bin"))
config.ganc_source_dir = os.path.abspath(
    setting("ganc_source_dir", os.path.join(config.test_source_root, "..", ".."))
)
config.llvm_tools_dir = setting("llvm_tools_dir", "/usr/lib/llvm-19/bin")

if not os.path.isfile(config.ganc_bin) or not os.access(config.ganc_bin, os.X_OK):
    lit_config.fatal("ganc binary not found or not executable: %s" % config.ganc_bin)
for tool in ("FileCheck", "not", "count", "split-file"):
    if not os.path.isfile(os.path.join(config.llvm_tools_dir, tool)):
        lit_config.fatal("%s not found in %s" % (tool, config.llvm_tools_dir))

# Test outputs (%t) go next to the site config in the build folder; without one, to a
# temporary folder rather than into the source tree.
if not getattr(config, "test_exec_root", None):
    config.test_exec_root = lit_config.params.get("exec_root") or os.path.join(
        "/tmp", "ganc-lit-" + str(os.getuid())
    )

# FileCheck, not, count and split-file come from LLVM's tools folder, ahead of the rest
# of PATH.
config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))]
)
# Diagnostics and numbers must not depend on the caller's locale.
config.environment["LC_ALL"] = "C"
# Compiled objects go to a cache beside the test outputs, not the user's ~/.cache/ganc.
config.environment["GANC_CACHE_DIR"] = os.path.join(config.test_exec_root, "cache")

utils = os.path.join(config.test_source_root, "utils")
# Config substitutions are applied before lit's own (%s, %t, ...), so %stdlib is safe.
config.substitutions.append(("%ganc", '"%s"' % config.ganc_bin))
config.substitutions.append(
    ("%examples", os.path.join(config.ganc_source_dir, "examples"))
)
config.substitutions.append(("%stdlib", os.path.join(config.ganc_source_dir, "stdlib")))
# `%expect-exit CODE CMD ...` succeeds only when CMD exits with exactly CODE (lit's `not`
# accepts any failure, crashes included).
config.substitutions.append(
    ("%expect-exit", '"%s" "%s"' % (sys.executable, os.path.join(utils, "expect_exit.py")))
)

# A headless browser for the test that report.html renders (scripts/install-deps.sh
# installs Debian's chromium when it can).
if shutil.which("chromium"):
    config.available_features.add("chromium")

# Features of the host CPU, which the JIT compiles for: codegen tests that look at vector
# registers need AVX (ymm; zmm with AVX-512) and are unsupported elsewhere.
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("x86_64")
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((l.split(":", 1)[1].split() for l in cpuinfo if l.startswith("flags")), [])
    except OSError:
        flags = []
    for flag in ("avx", "avx2", "avx512f"):
        if flag in flags:
            config.available_features.add(flag)
